//! The compilation units parsed and kept, up to a total weight (their DWARF's size), the least
//! recently used given up first.

/// Which module (by index in the symboliser's list) and which unit (by index in its
/// [`Dwarf`](super::dwarf::Dwarf)).
pub(crate) type UnitKey = (usize, usize);

pub(crate) struct UnitCache<V> {
    /// Least recently used first. A few hundred entries at most: a linear search is cheaper
    /// than keeping an index in step.
    entries: Vec<(UnitKey, usize, V)>,
    weight: usize,
    max_weight: usize,
    /// How many entries were built, over the cache's life.
    pub(crate) built: usize,
}

impl<V> UnitCache<V> {
    pub(crate) fn new(max_weight: usize) -> Self {
        Self { entries: Vec::new(), weight: 0, max_weight, built: 0 }
    }

    /// The entry for `key`, built with `build` if it is not kept; `None` if it cannot be built.
    /// Entries are given up to make room for its `weight` before it is built, so that what is
    /// kept never exceeds the bound; one entry heavier than the bound is kept alone.
    pub(crate) fn get_or_build(&mut self, key: UnitKey, weight: usize, build: impl FnOnce() -> Option<V>) -> Option<&V> {
        match self.entries.iter().position(|(kept, _, _)| *kept == key) {
            Some(index) => {
                let entry = self.entries.remove(index);
                self.entries.push(entry);
            }
            None => {
                while !self.entries.is_empty() && self.weight + weight > self.max_weight {
                    let (_, evicted, _) = self.entries.remove(0);
                    self.weight -= evicted;
                }
                let value = build()?;
                self.built += 1;
                self.weight += weight;
                self.entries.push((key, weight, value));
            }
        }
        self.entries.last().map(|(_, _, value)| value)
    }

    pub(crate) fn remove(&mut self, key: UnitKey) {
        if let Some(index) = self.entries.iter().position(|(kept, _, _)| *kept == key) {
            let (_, weight, _) = self.entries.remove(index);
            self.weight -= weight;
        }
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.weight = 0;
    }

    /// The total weight kept.
    pub(crate) fn weight(&self) -> usize {
        self.weight
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_go_first_past_the_bound() {
        let mut cache = UnitCache::new(10);
        let get = |cache: &mut UnitCache<&str>, unit, weight| cache.get_or_build((0, unit), weight, || Some("unit")).is_some();
        assert!(get(&mut cache, 1, 4) && get(&mut cache, 2, 4));
        assert!(get(&mut cache, 1, 99), "kept: not built again");
        assert!(get(&mut cache, 3, 4), "over the bound: 2, the least recently used, goes");
        assert_eq!((cache.len(), cache.weight(), cache.built), (2, 8, 3));
        assert!(get(&mut cache, 2, 4));
        assert_eq!((cache.weight(), cache.built), (8, 4), "2 was built again; 1 went");
        assert!(get(&mut cache, 4, 30), "heavier than the bound: kept alone");
        assert_eq!((cache.len(), cache.weight()), (1, 30));
        cache.remove((0, 4));
        assert_eq!((cache.len(), cache.weight()), (0, 0));
        assert!(cache.get_or_build((0, 5), 1, || None).is_none());
        assert_eq!(cache.built, 5);
    }
}

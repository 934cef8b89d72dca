//! A module's function symbols with their extents, for the addresses its DWARF says nothing
//! about (a system library without its debug files, a stripped binary).
//!
//! `addr2line`'s own symbol lookup gives an address the nearest symbol below it, however far:
//! a stripped libc's internal functions have no symbol, so their samples were named after
//! whichever exported function happened to precede them (`__xmknodat`, `f64xsubf128`). Here an
//! address no symbol's extent holds has no name, and the profile shows it as an address in its
//! module, which is what it is.

use std::path::Path;

use object::{Object, ObjectSymbol, ReadCache, SymbolKind};

/// How many symbols a lookup examines at most, from the nearest below the address back.
const MAX_WALK_BACK: usize = 64;

/// Function symbols, by start address.
#[derive(Debug, Default)]
pub(crate) struct SymbolTable {
    /// `(start, end, name)`, sorted by start, one per start.
    functions: Vec<(u64, u64, Box<str>)>,
    /// For each function, the furthest end of it and every function before it: where a lookup
    /// walking back past a smaller function nested in a larger one can stop.
    reach: Vec<u64>,
}

impl SymbolTable {
    /// The function symbols of the ELF file at `path` (its `.symtab` and `.dynsym`); `None` if
    /// it cannot be read. Only the headers and the symbol and string tables are read, not the
    /// whole file.
    pub(crate) fn read(path: &Path) -> Option<Self> {
        let data = ReadCache::new(std::fs::File::open(path).ok()?);
        let file = object::File::parse(&data).ok()?;
        let functions = file.symbols().chain(file.dynamic_symbols()).filter_map(|symbol| {
            let sized_function = symbol.kind() == SymbolKind::Text && symbol.is_definition() && symbol.size() > 0;
            let name = symbol.name().ok().filter(|name| sized_function && !name.is_empty())?;
            // A malformed file's symbol may run past the address space: it covers nothing.
            let end = symbol.address().checked_add(symbol.size())?;
            Some((symbol.address(), end, name.into()))
        });
        Some(Self::new(functions))
    }

    fn new(functions: impl IntoIterator<Item = (u64, u64, Box<str>)>) -> Self {
        let mut functions: Vec<_> = functions.into_iter().collect();
        // Aliases share a start (`write`, `__write`, `__libc_write`): the one kept is the name
        // callers use, the first without a leading underscore, else the shortest, with the
        // largest extent among them.
        functions.sort_unstable_by(|a, b| {
            (a.0, a.2.starts_with('_'), a.2.len(), &a.2).cmp(&(b.0, b.2.starts_with('_'), b.2.len(), &b.2))
        });
        functions.dedup_by(|alias, kept| {
            let same_start = alias.0 == kept.0;
            if same_start {
                kept.1 = kept.1.max(alias.1);
            }
            same_start
        });
        let reach = functions
            .iter()
            .scan(0, |furthest, &(_, end, _)| {
                *furthest = end.max(*furthest);
                Some(*furthest)
            })
            .collect();
        Self { functions, reach }
    }

    /// The function whose extent holds `address` (a file address: the module's load bias
    /// taken off): of those that do, the one starting last, the innermost where one function's
    /// symbol lies inside another's (an entry point inside hand-written assembly), among the
    /// [`MAX_WALK_BACK`] nearest below it.
    pub(crate) fn find(&self, address: u64) -> Option<&str> {
        let below = self.functions.partition_point(|&(start, _, _)| start <= address);
        (0..below)
            .rev()
            .take_while(|&index| self.reach[index] > address)
            // Nesting is shallow in real files; one symbol spanning thousands (a malformed
            // table) must not make every lookup walk back to it.
            .take(MAX_WALK_BACK)
            .find(|&index| address < self.functions[index].1)
            .map(|index| &*self.functions[index].2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_past_a_function_s_end_has_no_name() {
        let table = SymbolTable::new([
            (0x2000, 0x2040, "later".into()),
            (0x1000, 0x1010, "__write".into()),
            (0x1000, 0x1010, "write".into()),
            (0x1000, 0x1010, "__libc_write".into()),
            (0x1800, 0x1900, "_start".into()),
        ]);
        assert_eq!(table.find(0x0fff), None);
        assert_eq!(table.find(0x1000), Some("write"));
        assert_eq!(table.find(0x100f), Some("write"));
        assert_eq!(table.find(0x1010), None, "between two functions: no one's");
        assert_eq!(table.find(0x17ff), None);
        assert_eq!(table.find(0x18ff), Some("_start"));
        assert_eq!(table.find(0x203f), Some("later"));
        assert_eq!(table.find(0x2040), None);
    }

    #[test]
    fn an_address_in_a_function_past_a_symbol_nested_in_it_is_the_outer_function_s() {
        let table = SymbolTable::new([
            (0x1000, 0x1100, "outer".into()),
            (0x1020, 0x1030, "entry".into()),
            (0x1040, 0x1050, "other_entry".into()),
            (0x1200, 0x1210, "after".into()),
        ]);
        assert_eq!(table.find(0x1010), Some("outer"));
        assert_eq!(table.find(0x1025), Some("entry"));
        assert_eq!(table.find(0x1035), Some("outer"));
        assert_eq!(table.find(0x1045), Some("other_entry"));
        assert_eq!(table.find(0x10ff), Some("outer"));
        assert_eq!(table.find(0x1100), None);
        assert_eq!(table.find(0x1205), Some("after"));
    }

    #[test]
    fn aliases_keep_the_largest_extent_among_them() {
        let table = SymbolTable::new([(0x1000, 0x1100, "__impl".into()), (0x1000, 0x1010, "api".into())]);
        assert_eq!(table.find(0x1050), Some("api"));
        assert_eq!(table.find(0x1100), None);
    }

    #[test]
    fn a_lookup_examines_a_bounded_number_of_symbols() {
        let outer = (0x1000, 0x10_0000, "outer".into());
        let inner = (1..=MAX_WALK_BACK as u64).map(|n| (0x1000 + n * 0x10, 0x1000 + n * 0x10 + 8, "inner".into()));
        let table = SymbolTable::new(std::iter::once(outer).chain(inner));
        // Within reach of `outer`, past the nearest symbols nested in it.
        assert_eq!(table.find(0x1000 + 2 * 0x10 + 9), Some("outer"));
        // `outer` is the 65th symbol back from here: too far to look.
        assert_eq!(table.find(0x1000 + MAX_WALK_BACK as u64 * 0x10 + 9), None);
    }

    #[test]
    fn libc_s_exported_functions_are_found_by_their_public_name() {
        let (modules, _) = super::super::modules::loaded();
        let address = libc::getpid as *const () as u64;
        let libc = modules.iter().find(|m| m.text_in_memory().contains(&address)).expect("libc is loaded");
        let table = SymbolTable::read(&libc.path).expect("libc's symbols");
        assert_eq!(table.find(address + 1 - libc.bias), Some("getpid"));
    }
}

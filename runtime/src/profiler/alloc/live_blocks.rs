//! The sampled blocks still allocated: a fixed table the allocator hook inserts into when it
//! samples and removes from when such a block is freed, and which the collector reads at the end
//! of each window to find what is still live.
//!
//! Everything is static and pre-allocated (a 512 KiB table, of which only the pages used are
//! ever touched, and a 16 KiB filter), changed with compare-and-swap only: no lock, no
//! allocation. Each slot holds one word: the block's address (47 bits: x86-64 user space) and a
//! generation bumped at each insertion into the slot, so the collector can tell the block it
//! was told about from a later one at the same place. A block is placed within [`PROBES`] slots
//! of its hash; when all are taken, the sample is still counted as allocated but not followed
//! (`alloc_blocks_untracked`).
//!
//! Every free checks the filter first: one counter per hash bucket of addresses, non-zero while
//! a sampled block of the bucket may be live. Only then is the table searched. With few sampled
//! blocks live (one per 512 KiB of live heap at the default rate), nearly every free costs one
//! load from the filter; with sampling off, every one does.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

/// Slots in the table: room for the sampled blocks of a live heap of many GiB at the default
/// rate.
pub(crate) const SLOTS: usize = 1 << 16;
/// Slots a block may be placed in, from its hash on.
const PROBES: usize = 16;
const FILTER_BUCKETS: usize = 1 << 14;
/// A filter counter that reached this stays there: its bucket is always searched.
const SATURATED: u8 = u8::MAX;

const ADDRESS_BITS: u32 = 47;
const ADDRESS: u64 = (1 << ADDRESS_BITS) - 1;
/// Generations wrap at 2^17: a slot would have to be reused that many times between two looks
/// of the collector for it to mistake a block for another.
const GENERATION_BITS: u32 = 64 - ADDRESS_BITS;

static TABLE: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];
static FILTER: [AtomicU8; FILTER_BUCKETS] = [const { AtomicU8::new(0) }; FILTER_BUCKETS];

/// Where a sampled block was recorded: its slot, and the slot's word while the block is live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tracked {
    pub slot: u32,
    pub word: u64,
}

/// Where a block's slots start from. Blocks are at least 8-aligned in practice: the low bits say
/// nothing.
fn hash(address: u64) -> u64 {
    (address >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The filter counter of the block at `address`: a multiplicative hash of 32 of its bits above
/// the alignment, which every free computes (a 32-bit multiply by an immediate, no constant to
/// load).
#[inline(always)]
fn filter_bucket(address: u64) -> &'static AtomicU8 {
    let hash = ((address >> 3) as u32).wrapping_mul(0x9E37_79B9);
    &FILTER[(hash >> (32 - FILTER_BUCKETS.trailing_zeros())) as usize]
}

fn slots(hash: u64) -> impl Iterator<Item = usize> {
    let home = (hash >> 16) as usize;
    (0..PROBES).map(move |i| (home + i) % SLOTS)
}

fn generation(word: u64) -> u64 {
    word >> ADDRESS_BITS
}

/// Records a sampled block at `address`; `None` if it cannot be followed (no free slot near its
/// hash, or an address beyond 47 bits).
pub(crate) fn insert(address: u64) -> Option<Tracked> {
    if address == 0 || address > ADDRESS {
        return None;
    }
    let hash = hash(address);
    for slot in slots(hash) {
        let current = TABLE[slot].load(Ordering::Relaxed);
        if current & ADDRESS != 0 {
            continue;
        }
        let generation = (generation(current) + 1) % (1 << GENERATION_BITS);
        let word = generation << ADDRESS_BITS | address;
        if TABLE[slot].compare_exchange(current, word, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
            let bucket = filter_bucket(address);
            // Saturating: a counter that wrapped to 0 would hide live blocks.
            let _ = bucket.fetch_update(Ordering::AcqRel, Ordering::Relaxed, |n| (n < SATURATED).then(|| n + 1));
            return Some(Tracked { slot: slot as u32, word });
        }
    }
    None
}

/// Whether the block at `address` may be a sampled one still followed: what every free and every
/// `realloc` asks first, ahead of handing the block back to the allocator (after that, the
/// address may be given out and sampled again by another thread). False for nearly every block
/// (see the module documentation); when true, [`forget`] finds out.
#[inline(always)]
pub(crate) fn may_be_tracked(address: *mut u8) -> bool {
    filter_bucket(address as u64).load(Ordering::Acquire) != 0
}

/// Forgets the block at `address` if it was sampled. Kept out of line: the free path calls it
/// only when [`may_be_tracked`] says so.
#[cold]
#[inline(never)]
pub(crate) fn forget(address: *mut u8) {
    let address = address as u64;
    // An empty slot's address bits are 0: null is never a sampled block.
    if address == 0 {
        return;
    }
    for slot in slots(hash(address)) {
        let current = TABLE[slot].load(Ordering::Acquire);
        // Only this free can remove this address: the block is live until it returns.
        if current & ADDRESS == address
            && TABLE[slot].compare_exchange(current, current & !ADDRESS, Ordering::AcqRel, Ordering::Relaxed).is_ok()
        {
            let _ = filter_bucket(address)
                .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |n| (n > 0 && n < SATURATED).then(|| n - 1));
            return;
        }
    }
}

/// Whether the block recorded as `tracked` is still live.
pub(crate) fn is_live(tracked: Tracked) -> bool {
    TABLE[tracked.slot as usize].load(Ordering::Acquire) == tracked.word
}

/// Whether `a` was recorded in its slot after `b` (same slot): generations compared as wrapping
/// counters.
pub(crate) fn is_later(a: Tracked, b: Tracked) -> bool {
    let distance = generation(a.word).wrapping_sub(generation(b.word)) % (1 << GENERATION_BITS);
    distance != 0 && distance < 1 << (GENERATION_BITS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserted_blocks_are_live_until_forgotten() {
        // Made-up addresses: the unit tests' global allocator is not the wrapper, so no real
        // free reaches this table.
        let base = 0x7000_0000_0000u64;
        let blocks: Vec<(u64, Tracked)> =
            (0..1000).map(|i| base + i * 48).map(|address| (address, insert(address).unwrap())).collect();
        assert!(blocks.iter().all(|&(_, tracked)| is_live(tracked)));
        for &(address, _) in blocks.iter().step_by(2) {
            forget(address as *mut u8);
        }
        for (i, &(_, tracked)) in blocks.iter().enumerate() {
            assert_eq!(is_live(tracked), i % 2 == 1, "block {i}");
        }
        // A block at a freed place is a later one in the same slot.
        let (address, first) = blocks[0];
        let again = insert(address).unwrap();
        if again.slot == first.slot {
            assert!(is_later(again, first) && !is_later(first, again));
        }
        for &(address, _) in &blocks {
            forget(address as *mut u8);
        }
        forget(address as *mut u8);
        assert!(!is_live(again));
        assert_eq!(insert(1 << 50), None, "beyond 47 bits");
    }

    #[test]
    fn a_crowded_hash_drops_instead_of_waiting() {
        // Addresses whose hashes share a home slot are rare; fill the table's probes for one
        // address by inserting it repeatedly (the same address twice is what a stale slot
        // looks like).
        let address = 0x7100_0000_0000u64;
        let tracked: Vec<Tracked> = (0..PROBES).map(|_| insert(address).unwrap()).collect();
        assert_eq!(insert(address), None, "every probe taken");
        for _ in &tracked {
            forget(address as *mut u8);
        }
        assert!(tracked.iter().all(|&t| !is_live(t)));
    }
}

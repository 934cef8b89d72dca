//! The per-call-site rate limit: at most `SPANSCOPE_LOGS_RATE_LIMIT` records per second from
//! one `log!`/`event!` call site (1000 by default; 0 turns it off), so one call site in a loop
//! cannot crowd every other record out of the queue. What it turns away is counted.
//!
//! Call sites share a fixed table of windows, one atomic word each (the second it counts and
//! the records admitted in it), indexed by a hash of the call site's address: no allocation and
//! no lock, one atomic operation per record. Two call sites that land in the same entry share
//! its budget; with 4096 entries that takes hundreds of busy call sites.

use std::sync::atomic::{AtomicU64, Ordering};

/// Entries in the table: a power of two.
const ENTRIES: usize = 4096;

static WINDOWS: [AtomicU64; ENTRIES] = [const { AtomicU64::new(0) }; ENTRIES];

/// Whether the call site at `callsite` may emit one more record in the second `second`, given
/// `limit` records per second (0: no limit). Counts the record if so.
pub(crate) fn admit(callsite: usize, second: u64, limit: u32) -> bool {
    if limit == 0 {
        return true;
    }
    let window = &WINDOWS[entry(callsite)];
    let second = second & u64::from(u32::MAX);
    let mut seen = window.load(Ordering::Relaxed);
    loop {
        let next = if seen >> 32 == second {
            let admitted = seen & u64::from(u32::MAX);
            if admitted >= u64::from(limit) {
                return false;
            }
            seen + 1
        } else {
            second << 32 | 1
        };
        match window.compare_exchange_weak(seen, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return true,
            Err(now) => seen = now,
        }
    }
}

/// The table entry of a call site: its address, hashed (call sites are static data, aligned,
/// and close together, so the low bits alone would cluster).
fn entry(callsite: usize) -> usize {
    let hash = (callsite as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (hash >> (64 - ENTRIES.trailing_zeros())) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_site_gets_its_limit_per_second() {
        static SITE: u8 = 0;
        let site = std::ptr::addr_of!(SITE) as usize;
        let admitted = (0..250).filter(|_| admit(site, 7, 100)).count();
        assert_eq!(admitted, 100);
        assert!(admit(site, 8, 100), "a new second starts a new budget");
        assert!((0..1000).all(|_| admit(site, 9, 0)), "0 is no limit");
    }

    #[test]
    fn threads_share_one_budget_exactly() {
        static SITE: u8 = 0;
        let site = std::ptr::addr_of!(SITE) as usize;
        let admitted: usize = std::thread::scope(|scope| {
            let threads: Vec<_> =
                (0..8).map(|_| scope.spawn(move || (0..1000).filter(|_| admit(site, 3, 500)).count())).collect();
            threads.into_iter().map(|t| t.join().unwrap()).sum()
        });
        assert_eq!(admitted, 500);
    }
}

//! Each thread's shard: the cells its recordings write, found by attribute set.
//!
//! A shard is made at a thread's first recording (once metrics are on) and registered, so the
//! collector can read it. Its pages of cells are indexed by series slot, the same slot in every
//! shard; only the owning thread writes them, and each page is its own allocation aligned to a
//! cache line, so two threads recording the same series write different lines.
//!
//! A thread finds a series' slot through its own lookup table, keyed by the attribute set's
//! hash: a hit costs the hash, one probe and a comparison, and no lock or allocation. Its first
//! recording of a set asks the registry (a lock) and keeps the answer; a set over the
//! instrument's cardinality limit is not kept, so an explosion of sets grows no table.
//!
//! When the thread exits, its shard is marked dead; the collector folds its cells into the
//! totals of exited threads and frees it. The thread-local pointer has no destructor, so
//! recordings from other thread-local destructors still read it: they find it marked gone,
//! and are dropped and counted.

use std::alloc::Layout;
use std::cell::{Cell as StdCell, UnsafeCell};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::attributes::{self, AttributeSet, OwnedSet};
use super::cell::Cell;
use super::registry::{self, InstrumentCore, MAX_SLOTS};
use crate::stats::{self, Counter};

/// Cells per page.
pub(crate) const PAGE_SLOTS: usize = 128;
const PAGES: usize = MAX_SLOTS / PAGE_SLOTS;

/// Every thread's shard, until the collector frees it.
static SHARDS: Mutex<Vec<ShardRef>> = Mutex::new(Vec::new());

/// A registered shard.
pub(crate) struct ShardRef(pub *const Shard);

// SAFETY: shards are `Sync`; the pointer is dereferenced by the collector under the lock of
// `SHARDS`, and only the collector frees shards.
unsafe impl Send for ShardRef {}

/// The shards, locked. (Poisoning is ignored: every change is one push or one `retain`.)
pub(crate) fn all() -> MutexGuard<'static, Vec<ShardRef>> {
    SHARDS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A page of cells, on cache lines of its own.
#[repr(align(64))]
pub(crate) struct Page {
    pub cells: [Cell; PAGE_SLOTS],
}

/// One thread's cells and lookup table.
#[repr(align(64))]
pub(crate) struct Shard {
    /// Pages by `slot / PAGE_SLOTS`, null until the thread records a series of that page.
    pub pages: Box<[AtomicPtr<Page>]>,
    /// Set when the thread exits: the collector then folds and frees the shard.
    pub dead: AtomicBool,
    /// The process's attribute-set hash seed.
    seed: u64,
    /// The owner's: slots by attribute-set hash.
    lookup: UnsafeCell<Lookup>,
}

// SAFETY: `lookup` is touched only by the owning thread (while alive) or by the collector after
// `dead` is seen (and the owner will never touch it again); every other field is atomic.
unsafe impl Sync for Shard {}
// SAFETY: as above; the collector frees the shard on its own thread.
unsafe impl Send for Shard {}

type Lookup = HashMap<u64, Entry, BuildHasherDefault<PassThrough>>;

/// A kept attribute set of one instrument, and its slot; sets whose hashes collide chain.
struct Entry {
    instrument: u32,
    set: OwnedSet,
    slot: u32,
    next: Option<Box<Entry>>,
}

/// The lookup's keys are already hashes.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn write(&mut self, _: &[u8]) {
        unreachable!("the lookup hashes only u64 keys")
    }
    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// What `SHARD` holds once the thread's exit has handed its shard to the collector.
const GONE: *const Shard = std::ptr::dangling();

thread_local! {
    /// This thread's shard; null before its first recording.
    static SHARD: StdCell<*const Shard> = const { StdCell::new(std::ptr::null()) };
    /// Marks the shard dead when the thread exits.
    static EXIT: ExitGuard = const { ExitGuard };
}

struct ExitGuard;

impl Drop for ExitGuard {
    fn drop(&mut self) {
        let _ = SHARD.try_with(|shard| {
            let current = shard.replace(GONE);
            if !current.is_null() && current != GONE {
                // SAFETY: a registered shard is freed only after `dead` is seen; not yet.
                unsafe { &*current }.dead.store(true, Ordering::Release);
            }
        });
    }
}

impl Shard {
    fn new() -> Self {
        Self {
            pages: (0..PAGES).map(|_| AtomicPtr::new(std::ptr::null_mut())).collect(),
            dead: AtomicBool::new(false),
            seed: attributes::seed(),
            lookup: UnsafeCell::new(Lookup::default()),
        }
    }

    /// The cell of `slot`, allocating its page at this thread's first use of it.
    #[inline]
    fn cell(&self, slot: u32) -> &Cell {
        let slot = slot as usize;
        let page = &self.pages[slot / PAGE_SLOTS];
        let mut cells = page.load(Ordering::Relaxed);
        if cells.is_null() {
            cells = allocate_page(page);
        }
        // SAFETY: pages are freed only with the shard, which outlives its owner's recordings.
        &unsafe { &*cells }.cells[slot % PAGE_SLOTS]
    }

    /// The slot of `attributes` if this thread kept it.
    ///
    /// Only the owning thread calls this (through `SHARD`).
    #[inline]
    fn find<A: AttributeSet>(&self, hash: u64, instrument: u32, attributes: &A) -> Option<u32> {
        // SAFETY: only the owner reads or writes `lookup` while the thread is alive.
        let lookup = unsafe { &*self.lookup.get() };
        let mut entry = lookup.get(&hash);
        while let Some(found) = entry {
            if found.instrument == instrument && attributes::matches(attributes, &found.set) {
                return Some(found.slot);
            }
            entry = found.next.as_deref();
        }
        None
    }

    #[cold]
    fn keep(&self, hash: u64, instrument: u32, set: OwnedSet, slot: u32) {
        // SAFETY: as in `find`; no reference from `find` is alive here.
        let lookup = unsafe { &mut *self.lookup.get() };
        let entry = Entry { instrument, set, slot, next: None };
        match lookup.get_mut(&hash) {
            Some(first) => {
                let mut last = first;
                while last.next.is_some() {
                    last = last.next.as_mut().expect("checked");
                }
                last.next = Some(Box::new(entry));
            }
            None => {
                lookup.insert(hash, entry);
            }
        }
    }
}

#[cold]
fn allocate_page(page: &AtomicPtr<Page>) -> *mut Page {
    let layout = Layout::new::<Page>();
    // SAFETY: `Page` has a non-zero size; an all-zero page is valid (atomics and null pointers).
    let cells = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<Page>();
    if cells.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    // Release: the collector's acquire load sees the zeroed page.
    page.store(cells, Ordering::Release);
    cells
}

/// Frees a dead shard and everything it allocated. `free_cell` frees what a cell points to.
///
/// # Safety
/// `shard` was registered by `attach`, its owner is gone (`dead` was seen with acquire), and no
/// other reference to it exists.
pub(crate) unsafe fn free(shard: *const Shard, mut free_cell: impl FnMut(usize, &Cell)) {
    // SAFETY: per the contract, the shard is no longer shared; it came from `Box::into_raw`.
    let shard = unsafe { Box::from_raw(shard.cast_mut()) };
    for (index, page) in shard.pages.iter().enumerate() {
        let cells = page.load(Ordering::Acquire);
        if cells.is_null() {
            continue;
        }
        // SAFETY: allocated by `allocate_page`, no longer shared.
        for (offset, cell) in unsafe { &*cells }.cells.iter().enumerate() {
            free_cell(index * PAGE_SLOTS + offset, cell);
        }
        // SAFETY: as above, with the same layout.
        unsafe { std::alloc::dealloc(cells.cast(), Layout::new::<Page>()) };
    }
}

/// This thread's shard: made at its first recording once metrics are on; `None` when they are
/// off or the thread is exiting.
#[inline(always)]
fn current() -> Option<&'static Shard> {
    let shard = SHARD.try_with(StdCell::get).unwrap_or(GONE);
    if shard.is_null() || shard == GONE {
        // Metrics off: one more load, and no call.
        if shard.is_null() && !registry::enabled() {
            return None;
        }
        return attach(shard);
    }
    // SAFETY: a registered shard lives until its owner (this thread) has exited.
    Some(unsafe { &*shard })
}

#[cold]
fn attach(shard: *const Shard) -> Option<&'static Shard> {
    if shard == GONE {
        stats::add(Counter::MetricMeasurementsDroppedThreadExit, 1);
        return None;
    }
    if !registry::enabled() {
        return None;
    }
    // Touch the exit guard first: if the thread is already exiting, record nothing.
    if EXIT.try_with(|_| ()).is_err() {
        stats::add(Counter::MetricMeasurementsDroppedThreadExit, 1);
        return None;
    }
    let shard: &'static Shard = Box::leak(Box::new(Shard::new()));
    all().push(ShardRef(shard));
    SHARD.with(|current| current.set(shard));
    Some(shard)
}

/// Runs `f` on this thread's cell of the series `attributes` of `instrument`.
#[inline]
pub(crate) fn with_cell<A: AttributeSet>(instrument: &'static InstrumentCore, attributes: &A, f: impl FnOnce(&Cell)) {
    let Some(shard) = current() else { return };
    let id = instrument.id();
    let hash = attributes::hash(attributes, id, shard.seed);
    let slot = match shard.find(hash, id, attributes) {
        Some(slot) => slot,
        None => match resolve(shard, instrument, id, hash, attributes) {
            registry::NO_SLOT => return,
            slot => slot,
        },
    };
    f(shard.cell(slot));
}

#[cold]
fn resolve<A: AttributeSet>(
    shard: &Shard,
    instrument: &'static InstrumentCore,
    id: u32,
    hash: u64,
    attributes: &A,
) -> u32 {
    let set = attributes::to_owned(attributes);
    let resolved = registry::resolve::<A>(instrument, id, &set);
    if resolved.keep {
        shard.keep(hash, id, set, resolved.slot);
    }
    resolved.slot
}

/// Runs `f` on this thread's cell of a bound series.
#[inline]
pub(crate) fn with_slot_cell(slot: u32, f: impl FnOnce(&Cell)) {
    if slot == registry::NO_SLOT {
        return;
    }
    if let Some(shard) = current() {
        f(shard.cell(slot));
    }
}

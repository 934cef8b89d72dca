//! Stack walking for the signal handler: DWARF CFI from the loaded `.eh_frame` sections,
//! evaluated by `framehop`, which falls back to the frame-pointer chain where a function has no
//! CFI.
//!
//! Why framehop and not an own CFI evaluator: it is the unwinder samply, pprof-rs and
//! pyroscope-rs use for the same job, handles prologues and epilogues, and with
//! `MustNotAllocateDuringUnwind` walks without allocating (pprof-rs checks that with a
//! counting allocator). Everything it allocates is allocated here, off the signal path: the
//! module list ([`Snapshot::build`]) and one rule cache per concurrent handler.
//!
//! A snapshot is immutable once published. When libraries are loaded, the collector builds a
//! new one and publishes it; the old one is never freed, because a handler may still be
//! walking with it (libraries loaded after start are rare, and a snapshot is a few KiB plus its
//! caches). The unwind data of a library unloaded with `dlclose` would dangle: such a library
//! is not unwound through by a later snapshot, and programs that unload code while profiling
//! should know an old snapshot could still be in use for one sample.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use framehop::x86_64::{CacheX86_64, UnwindRegsX86_64, UnwinderX86_64};
use framehop::{ExplicitModuleSectionInfo, MustNotAllocateDuringUnwind, Unwinder as _};

use super::modules::Module;
use super::ring::TRUNCATED;
use super::stack_reader::StackReader;

/// Handlers that may walk at once; one more at that instant drops its sample.
const CACHES: usize = 8;

type Native = UnwinderX86_64<&'static [u8], MustNotAllocateDuringUnwind>;
type Cache = CacheX86_64<MustNotAllocateDuringUnwind>;

/// An unwinder over a fixed set of modules, with its caches.
pub(crate) struct Snapshot {
    unwinder: Native,
    caches: Box<[CacheSlot]>,
}

struct CacheSlot {
    busy: AtomicBool,
    cache: UnsafeCell<Cache>,
}

// SAFETY: a cache is only used by the handler that flipped its `busy` flag from false to true,
// until it stores false again (acquire/release); the unwinder is never mutated once built.
unsafe impl Sync for Snapshot {}
// SAFETY: as above; the `&'static [u8]` section data is plain memory of loaded modules.
unsafe impl Send for Snapshot {}

static CURRENT: AtomicPtr<Snapshot> = AtomicPtr::new(std::ptr::null_mut());

impl Snapshot {
    /// An unwinder for `modules`. Not signal-safe: allocates.
    pub(crate) fn build(modules: &[Module]) -> Self {
        let mut unwinder = Native::new();
        for module in modules {
            // SAFETY: the ranges come from the module's loaded program headers (see
            // `modules`), and loaded modules stay mapped; see the module doc on `dlclose`.
            let section = |range: &Option<std::ops::Range<u64>>| range.as_ref().map(|r| unsafe { module.mapped(r) });
            let info = ExplicitModuleSectionInfo {
                base_svma: 0,
                text_svma: Some(module.text.clone()),
                text: section(&Some(module.text.clone())),
                eh_frame_svma: module.eh_frame.clone(),
                eh_frame: section(&module.eh_frame),
                eh_frame_hdr_svma: module.eh_frame_hdr.clone(),
                eh_frame_hdr: section(&module.eh_frame_hdr),
                ..Default::default()
            };
            let name = module.path.to_string_lossy().into_owned();
            unwinder.add_module(framehop::Module::new(name, module.text_in_memory(), module.bias, info));
        }
        let caches = (0..CACHES).map(|_| CacheSlot { busy: AtomicBool::new(false), cache: UnsafeCell::new(Cache::new_in()) });
        Self { unwinder, caches: caches.collect() }
    }

    /// Makes this the snapshot handlers use from now on. The previous one stays allocated.
    pub(crate) fn publish(self) {
        CURRENT.store(Box::into_raw(Box::new(self)), Ordering::Release);
    }

    /// The published snapshot. Signal-safe: one atomic load.
    pub(crate) fn current() -> Option<&'static Snapshot> {
        let pointer = CURRENT.load(Ordering::Acquire);
        // SAFETY: published snapshots come from `Box::into_raw` and are never freed.
        (!pointer.is_null()).then(|| unsafe { &*pointer })
    }

    /// Walks the stack of the interrupted context given by its `ip`, `sp` and `bp` registers,
    /// writing lookup addresses (leaf first) into `frames`; returns how many, or `None` if
    /// every cache is in use. A stack with more frames than `frames` holds gets its innermost
    /// ones, then [`TRUNCATED`] as the last entry in place of the rest, as pprof's tools mark a
    /// cut stack. Signal-safe: no allocation, no lock; stack reads are validated.
    pub(crate) fn walk(&self, ip: u64, sp: u64, bp: u64, frames: &mut [u64]) -> Option<usize> {
        let slot = self.caches.iter().find(|slot| {
            slot.busy.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok()
        })?;
        // SAFETY: the busy flag just taken gives this call sole use of the cache.
        let cache = unsafe { &mut *slot.cache.get() };
        let mut reader = StackReader::new(sp);
        let mut read = |address| reader.read(address);
        let mut iter = self.unwinder.iter_frames(ip, UnwindRegsX86_64::new(ip, sp, bp), cache, &mut read);
        let mut depth = 0;
        while depth < frames.len() {
            match iter.next() {
                Ok(Some(frame)) if frame.address() != 0 => {
                    if depth == frames.len() - 1 {
                        // One more frame than room: the stack goes on beyond it.
                        frames[depth] = TRUNCATED;
                    } else {
                        frames[depth] = frame.address_for_lookup();
                    }
                    depth += 1;
                }
                // The end of the stack, or as far as it could be followed.
                _ => break,
            }
        }
        slot.busy.store(false, Ordering::Release);
        Some(depth)
    }
}

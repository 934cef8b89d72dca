//! Children forked without `exec`.
//!
//! A child made by `fork` runs a copy of the parent's memory on one thread, the one that called
//! `fork`: spanscope's threads (the reporter, the profiler's collector, the exit-signal thread)
//! stay in the parent. Nothing the child queued could ever be delivered, and a shutdown would
//! wait its whole deadline for a reporter that is not there. So the child stops recording at
//! the fork, as after a shutdown: `fork`'s child handler ([`watch`]) clears the state that hot
//! paths read. Spans begun in the child are not recorded; spans open at the fork that end in
//! the child are dropped and counted (`spans_dropped_shutdown`); `flush` returns at once. The
//! guard's drop in the child (the parent's guard, copied) shuts down at once and says how many
//! spans the child dropped (see `init::shut_down`). A child that wants its own telemetry
//! drops that guard and calls `init` again.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Once;

use crate::stats::{self, Counter};

/// The child the handler last ran in (its process id), and `spans_dropped_shutdown` then.
static CHILD: AtomicU32 = AtomicU32::new(0);
static SPANS_DROPPED_AT_FORK: AtomicU64 = AtomicU64::new(0);

/// Registers the child handler, once per process.
pub(crate) fn watch() {
    static REGISTERED: Once = Once::new();
    REGISTERED.call_once(|| {
        // SAFETY: registers a handler for `fork` to call in the child; it is a plain
        // `extern "C" fn()` doing only async-signal-safe work (atomic loads and stores), as a
        // handler run in the child of a multi-threaded process must.
        unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
    });
}

extern "C" fn in_child() {
    crate::state::withdraw();
    // No collector drains the allocation samples here.
    crate::thread_allocations::set_rate(0);
    SPANS_DROPPED_AT_FORK.store(stats::get(Counter::SpansDroppedShutdown), Ordering::Relaxed);
    // `getpid` is async-signal-safe.
    CHILD.store(std::process::id(), Ordering::Release);
}

/// Spans this process dropped since it was forked, as it does not record (see the module doc);
/// `None` if the handler did not run in it (a child made by a raw `clone` or `fork` system
/// call, which skips the handlers: it recorded into a queue nobody reads, and nothing counted).
pub(crate) fn spans_dropped_in_child() -> Option<u64> {
    (CHILD.load(Ordering::Acquire) == std::process::id()).then(|| {
        stats::get(Counter::SpansDroppedShutdown).saturating_sub(SPANS_DROPPED_AT_FORK.load(Ordering::Relaxed))
    })
}

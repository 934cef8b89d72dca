//! What hot paths read about the current run: the settings spans, propagation and the
//! integrations need, published by `init` and withdrawn at shutdown.
//!
//! The run is one pointer, published with release ordering and read with one acquire load. A
//! withdrawn run is not freed: a thread may still be reading it without synchronisation, so it
//! stays allocated (a few hundred bytes per `init`; processes call `init` a handful of times at
//! most).

use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use crate::config::{Propagator, Sampler};

/// The settings of one run, from `init` to shutdown.
#[derive(Debug)]
pub(crate) struct Run {
    pub sampler: Sampler,
    pub service: String,
    pub instance: String,
    pub propagators: Vec<Propagator>,
    pub max_spans: u32,
}

static RUN: AtomicPtr<Run> = AtomicPtr::new(std::ptr::null_mut());
/// Whether the CPU profiler samples now: segments made while it does are linked to its profile.
static PROFILING: AtomicBool = AtomicBool::new(false);

/// The current run, if spanscope is initialised and enabled.
#[inline]
pub(crate) fn current() -> Option<&'static Run> {
    let pointer = RUN.load(Ordering::Acquire);
    // SAFETY: a non-null pointer was published by `publish` from `Box::leak`, so it points to a
    // `Run` that is never freed or mutated.
    (!pointer.is_null()).then(|| unsafe { &*pointer })
}

/// Makes `run` the current one.
pub(crate) fn publish(run: Run) {
    RUN.store(Box::leak(Box::new(run)), Ordering::Release);
}

/// Ends the current run for every hot path: new segments become no-ops. Async-signal-safe (one
/// atomic store), for the child handler of `fork`.
pub(crate) fn withdraw() {
    RUN.store(std::ptr::null_mut(), Ordering::Release);
}

/// Whether the CPU profiler samples now.
#[inline]
pub(crate) fn profiling() -> bool {
    PROFILING.load(Ordering::Relaxed)
}

/// Says whether the CPU profiler samples from now on.
pub(crate) fn set_profiling(on: bool) {
    PROFILING.store(on, Ordering::Relaxed);
}

//! What hot paths read about the current run: the settings spans, propagation and the
//! integrations need, and the logging bridges' filter and limits, published by `init` and
//! withdrawn at shutdown.
//!
//! The run is one pointer, published with release ordering and read with one acquire load. A
//! withdrawn run is not freed: a thread may still be reading it without synchronisation, so it
//! stays allocated (a few hundred bytes per `init`; processes call `init` a handful of times at
//! most).

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, Ordering};

use crate::config::log_filter::Filter;
use crate::config::log_level::Level;
use crate::config::logs::Limits;
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

/// Ends the current run for every hot path: new segments become no-ops, log records are not
/// kept. Async-signal-safe (atomic stores), for the child handler of `fork`.
pub(crate) fn withdraw() {
    RUN.store(std::ptr::null_mut(), Ordering::Release);
    withdraw_logs();
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

/// The logs settings of one run.
#[derive(Debug)]
pub(crate) struct LogRun {
    /// Whether records are exported (a logs exporter is configured). The filter applies
    /// either way: the `tracing` bridge's span events follow it too.
    pub export: bool,
    pub filter: Filter,
    pub limits: Limits,
    /// Records per second per call site; 0: no limit.
    pub rate_limit: u32,
}

static LOG_RUN: AtomicPtr<LogRun> = AtomicPtr::new(std::ptr::null_mut());
/// The most verbose level the filter passes anywhere, as `Level as u8`; 0 passes nothing (and
/// nothing runs). One load answers most "is this enabled?" questions.
static LOG_MAX_LEVEL: AtomicU8 = AtomicU8::new(0);

/// The current run's logs settings, if spanscope runs.
#[inline]
pub(crate) fn logs() -> Option<&'static LogRun> {
    let pointer = LOG_RUN.load(Ordering::Acquire);
    // SAFETY: a non-null pointer was published by `publish_logs` from `Box::leak`, so it points to a
    // `LogRun` that is never freed or mutated.
    (!pointer.is_null()).then(|| unsafe { &*pointer })
}

/// The most verbose level of the records exported; `None` when none is.
#[inline]
pub(crate) fn log_max_level() -> Option<Level> {
    Level::ALL.get(usize::from(LOG_MAX_LEVEL.load(Ordering::Relaxed)).wrapping_sub(1)).copied()
}

/// Keeps records as `run` says from now on. A replaced run is not freed (a thread may still
/// read it); processes call `init` a handful of times at most.
pub(crate) fn publish_logs(run: LogRun) {
    let max = run.filter.max_level().filter(|_| run.export).map_or(0, |level| level as u8);
    LOG_RUN.store(Box::leak(Box::new(run)), Ordering::Release);
    LOG_MAX_LEVEL.store(max, Ordering::Relaxed);
}

/// Keeps no record from now on: a bridge's check costs one load again.
pub(crate) fn withdraw_logs() {
    LOG_MAX_LEVEL.store(0, Ordering::Relaxed);
    LOG_RUN.store(std::ptr::null_mut(), Ordering::Release);
}

thread_local! {
    static OWN_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Marks the calling thread as one of spanscope's own (its reporter, profiler, signal threads,
/// and those libraries start on its behalf): log records made on it are not kept, so exporting
/// never feeds itself.
pub(crate) fn mark_own_thread() {
    OWN_THREAD.with(|own| own.set(true));
}

/// Whether the calling thread is one of spanscope's own.
#[inline]
pub(crate) fn is_own_thread() -> bool {
    OWN_THREAD.try_with(Cell::get).unwrap_or(false)
}

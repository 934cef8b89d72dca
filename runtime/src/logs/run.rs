//! What the bridges read about the current run: the filter, the limits and the rate limit,
//! published by `init` and withdrawn at shutdown, read with one acquire load (like `state`).

use std::sync::atomic::{AtomicPtr, AtomicU8, Ordering};

use crate::config::log_filter::Filter;
use crate::config::log_level::Level;
use crate::config::logs::Limits;

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

static RUN: AtomicPtr<LogRun> = AtomicPtr::new(std::ptr::null_mut());
/// The most verbose level the filter passes anywhere, as `Level as u8`; 0 passes nothing (and
/// nothing runs). One load answers most "is this enabled?" questions.
static MAX_LEVEL: AtomicU8 = AtomicU8::new(0);

/// The current run's logs settings, if spanscope runs.
#[inline]
pub(crate) fn current() -> Option<&'static LogRun> {
    let pointer = RUN.load(Ordering::Acquire);
    // SAFETY: a non-null pointer was published by `publish` from `Box::leak`, so it points to a
    // `LogRun` that is never freed or mutated.
    (!pointer.is_null()).then(|| unsafe { &*pointer })
}

/// The most verbose level of the records exported; `None` when none is.
#[inline]
pub(crate) fn max_level() -> Option<Level> {
    Level::ALL.get(usize::from(MAX_LEVEL.load(Ordering::Relaxed)).wrapping_sub(1)).copied()
}

/// Keeps records as `run` says from now on. A replaced run is not freed (a thread may still
/// read it); processes call `init` a handful of times at most.
pub(crate) fn publish(run: LogRun) {
    let max = run.filter.max_level().filter(|_| run.export).map_or(0, |level| level as u8);
    RUN.store(Box::leak(Box::new(run)), Ordering::Release);
    MAX_LEVEL.store(max, Ordering::Relaxed);
}

/// Keeps no record from now on: a bridge's check costs one load again.
pub(crate) fn withdraw() {
    MAX_LEVEL.store(0, Ordering::Relaxed);
    RUN.store(std::ptr::null_mut(), Ordering::Release);
}

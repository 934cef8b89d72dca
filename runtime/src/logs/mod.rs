//! Logs: the records the `log` and `tracing` bridges make, and their queue to the reporter.
//!
//! A bridge asks [`enabled`] first (a level check, then the filter: a disabled record costs
//! that and nothing else), then [`draft`] checks the call site's rate limit and starts a record
//! with the time and the identity of the current span, sampled or not; the bridge writes the
//! body and the attributes into it, and [`Draft::submit`] adds the `#[profiled]` tags current
//! here and queues it, one non-blocking queue operation. Records are not sampled by trace.
//!
//! Records made on spanscope's own threads (the reporter, its HTTP and gRPC clients, the
//! profiler's collector) are never kept, so exporting cannot feed itself.

mod draft;
pub(crate) mod queue;
mod rate_limit;
pub(crate) mod record;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

pub(crate) use crate::config::log_level::Level;
use crate::state::LogRun;
use crate::stats::{self, Counter};
pub(crate) use draft::{Draft, Name};
pub(crate) use record::{Location, LogRecord, Value};

/// Whether a record of `level` from `target` would be exported: spanscope runs with a logs
/// exporter, this is not one of its own threads, and the filter passes it. Turned away by the
/// filter, it is counted.
#[inline]
pub(crate) fn enabled(level: Level, target: &str) -> bool {
    if crate::state::log_max_level().is_none_or(|max| level > max) {
        return false;
    }
    exporting().is_some_and(|run| passes_filter(run, level, target))
}

/// The run's settings, if records are exported and this is not one of spanscope's own threads.
#[inline]
fn exporting() -> Option<&'static LogRun> {
    crate::state::logs().filter(|run| run.export && !crate::state::is_own_thread())
}

#[inline(never)]
fn passes_filter(run: &LogRun, level: Level, target: &str) -> bool {
    let passes = run.filter.passes(level, target);
    if !passes {
        stats::add(Counter::LogRecordsFiltered, 1);
    }
    passes
}

/// Where a record comes from, as a bridge describes it.
#[derive(Debug)]
pub(crate) struct Origin {
    pub level: Level,
    /// The logger: a `log` target, a `tracing` target.
    pub target: Cow<'static, str>,
    pub location: Option<Location>,
    /// Any address unique to the call site (its rate limit's key).
    pub callsite: usize,
    /// How many attributes the bridge will add, if it knows: allocated at once.
    pub attributes: usize,
}

/// Starts a record from `origin`, if [`enabled`] would say so and the call site's rate limit
/// admits it (a record it turns away is counted).
pub(crate) fn draft(origin: Origin) -> Option<Draft> {
    if crate::state::log_max_level().is_none_or(|max| origin.level > max) {
        return None;
    }
    let run = exporting()?;
    passes_filter(run, origin.level, &origin.target).then_some(())?;
    start(run, origin)
}

/// Like [`draft`], for a record the bridge's own copy of the filter already passed (the
/// `tracing` layer's per-layer filter, cached in the call site).
pub(crate) fn draft_passed(origin: Origin) -> Option<Draft> {
    start(exporting()?, origin)
}

fn start(run: &'static LogRun, Origin { level, target, location, callsite, attributes }: Origin) -> Option<Draft> {
    let tick = crate::clock::now();
    if !rate_limit::admit(callsite, crate::clock::seconds_between(0, tick) as u64, run.rate_limit) {
        stats::add(Counter::LogRecordsRateLimited, 1);
        return None;
    }
    let mut record = LogRecord::new(tick, level, target, attributes);
    record.location = location;
    record.span = crate::span::current::log_identity();
    Some(Draft::new(run, record))
}

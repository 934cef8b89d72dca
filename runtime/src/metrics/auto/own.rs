//! spanscope's own counters as metrics, so that what it drops shows in the same backend as
//! what it records: the figures of [`stats()`](crate::stats()), read at each collection.
//!
//! | metric | unit | attributes |
//! |---|---|---|
//! | `spanscope.exporter.exported` | `{item}` | `spanscope.signal` (`spans`, `profiles`, `metrics`), `spanscope.exporter` (its name) |
//! | `spanscope.exporter.dropped` | `{item}` | the same, and `error.type` (`backend_down`, `rejected`, `export_error`, `shutdown`) |
//! | `spanscope.exporter.retried` | `{item}` | the same as `exported` |
//! | `spanscope.spans.dropped` | `{span}` | `error.type` (`queue_full`, `segment_full`) |
//! | `spanscope.profiler.samples` | `{sample}` | `spanscope.outcome` (`kept`, `dropped`) |
//! | `spanscope.profiler.allocation_samples` | `{sample}` | `spanscope.outcome` (`kept`, `dropped`, `untracked`: kept but not followed to its free) |
//! | `spanscope.propagation.rejected` | `{header}` | `spanscope.propagation.format` (`traceparent`, `tracestate`, `sw8`, `sw8-correlation`, `baggage`, `datadog`, `b3`), `error.type` (`malformed`, `duplicate`, `oversized`, `over_limit`) |
//! | `spanscope.metrics.measurements.dropped` | `{measurement}` | `error.type` (`overflow`, `invalid`, `thread_exit`, `over_capacity`) |

use super::observables;
use crate::metrics::{AttrRef, AttrValue, AttributeSchema, AttributeSet, Observer};
use crate::stats::{stats, ExporterStats, Signal, Stats};
use crate::tag::TagMeta;

static SIGNAL: TagMeta = TagMeta::new("spanscope_signal", "spanscope.signal");
static EXPORTER: TagMeta = TagMeta::new("spanscope_exporter", "spanscope.exporter");
static ERROR_TYPE: TagMeta = TagMeta::new("error_type", "error.type");
static OUTCOME: TagMeta = TagMeta::new("spanscope_outcome", "spanscope.outcome");
static FORMAT: TagMeta = TagMeta::new("spanscope_propagation_format", "spanscope.propagation.format");

/// The attributes of spanscope's own metrics; each leaves out the keys it does not use.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Own<'a> {
    signal: Option<&'static str>,
    exporter: Option<&'a str>,
    error_type: Option<&'static str>,
    outcome: Option<&'static str>,
    format: Option<&'static str>,
}

impl AttributeSet for Own<'_> {
    const KEYS: &'static [fn() -> &'static TagMeta] =
        &[|| &SIGNAL, || &EXPORTER, || &ERROR_TYPE, || &OUTCOME, || &FORMAT];
    fn visit(&self, mut f: impl FnMut(AttrRef<'_>)) {
        f(self.signal.attr_ref());
        f(self.exporter.attr_ref());
        f(self.error_type.attr_ref());
        f(self.outcome.attr_ref());
        f(self.format.attr_ref());
    }
}

/// Names [`Own`] for every lifetime.
pub(crate) enum OwnSchema {}

impl AttributeSchema for OwnSchema {
    type Attributes<'a> = Own<'a>;
}

observables! {
    EXPORTED: u64, OwnSchema = "spanscope.exporter.exported" { ObservableCounter, "{item}", "Items each exporter delivered.", exported };
    DROPPED: u64, OwnSchema = "spanscope.exporter.dropped" { ObservableCounter, "{item}", "Items each exporter dropped, by reason.", dropped };
    RETRIED: u64, OwnSchema = "spanscope.exporter.retried" { ObservableCounter, "{item}", "Items each exporter sent again after a retryable failure.", retried };
    SPANS_DROPPED: u64, OwnSchema = "spanscope.spans.dropped" { ObservableCounter, "{span}", "Spans dropped before any exporter, by reason.", spans_dropped };
    PROFILER_SAMPLES: u64, OwnSchema = "spanscope.profiler.samples" { ObservableCounter, "{sample}", "CPU samples the profiler kept or dropped.", profiler_samples };
    ALLOCATION_SAMPLES: u64, OwnSchema = "spanscope.profiler.allocation_samples" { ObservableCounter, "{sample}", "Allocation samples the profiler kept or dropped.", allocation_samples };
    PROPAGATION_REJECTED: u64, OwnSchema = "spanscope.propagation.rejected" { ObservableCounter, "{header}", "Incoming propagation headers ignored, by format and reason.", propagation_rejected };
    LOGS_DROPPED: u64, OwnSchema = "spanscope.logs.dropped" { ObservableCounter, "{log_record}", "Log records dropped before any exporter, by reason.", logs_dropped };
    MEASUREMENTS_DROPPED: u64, OwnSchema = "spanscope.metrics.measurements.dropped" { ObservableCounter, "{measurement}", "Metric recordings not kept in their own series, by reason.", measurements_dropped };
}

/// The attributes naming `exporter`.
fn of(exporter: &ExporterStats) -> Own<'_> {
    let signal = match exporter.signal {
        Signal::Spans => "spans",
        Signal::Profiles => "profiles",
        Signal::Metrics => "metrics",
        Signal::Logs => "logs",
    };
    Own { signal: Some(signal), exporter: Some(&exporter.name), ..Own::default() }
}

fn exported(observer: &mut Observer<'_, u64, OwnSchema>) {
    for exporter in stats().exporters {
        observer.record(exporter.exported, of(&exporter));
    }
}

fn retried(observer: &mut Observer<'_, u64, OwnSchema>) {
    for exporter in stats().exporters {
        observer.record(exporter.retried, of(&exporter));
    }
}

fn dropped(observer: &mut Observer<'_, u64, OwnSchema>) {
    for exporter in stats().exporters {
        let reasons = [
            ("backend_down", exporter.dropped_backend_down),
            ("rejected", exporter.dropped_rejected),
            ("export_error", exporter.dropped_export_error),
            ("shutdown", exporter.dropped_shutdown),
        ];
        for (reason, count) in reasons {
            observer.record(count, Own { error_type: Some(reason), ..of(&exporter) });
        }
    }
}

/// Records each `(error.type, count)` of `counts`.
fn by_reason(observer: &mut Observer<'_, u64, OwnSchema>, counts: &[(&'static str, u64)]) {
    for &(reason, count) in counts {
        observer.record(count, Own { error_type: Some(reason), ..Own::default() });
    }
}

fn spans_dropped(observer: &mut Observer<'_, u64, OwnSchema>) {
    let Stats { spans_dropped_queue_full, spans_dropped_segment_full, .. } = stats();
    by_reason(observer, &[("queue_full", spans_dropped_queue_full), ("segment_full", spans_dropped_segment_full)]);
}

fn logs_dropped(observer: &mut Observer<'_, u64, OwnSchema>) {
    let Stats { log_records_dropped_queue_full, log_records_rate_limited, .. } = stats();
    by_reason(observer, &[("queue_full", log_records_dropped_queue_full), ("rate_limited", log_records_rate_limited)]);
}

fn profiler_samples(observer: &mut Observer<'_, u64, OwnSchema>) {
    let Stats { profile_samples, profile_samples_dropped, .. } = stats();
    observer.record(profile_samples, Own { outcome: Some("kept"), ..Own::default() });
    observer.record(profile_samples_dropped, Own { outcome: Some("dropped"), ..Own::default() });
}

fn allocation_samples(observer: &mut Observer<'_, u64, OwnSchema>) {
    let Stats { alloc_samples, alloc_samples_dropped, alloc_blocks_untracked, .. } = stats();
    for (outcome, count) in
        [("kept", alloc_samples), ("dropped", alloc_samples_dropped), ("untracked", alloc_blocks_untracked)]
    {
        observer.record(count, Own { outcome: Some(outcome), ..Own::default() });
    }
}

fn propagation_rejected(observer: &mut Observer<'_, u64, OwnSchema>) {
    let stats = stats();
    let rejected = [
        ("traceparent", "malformed", stats.traceparent_malformed),
        ("traceparent", "duplicate", stats.traceparent_duplicate),
        ("tracestate", "malformed", stats.tracestate_malformed),
        ("sw8", "malformed", stats.sw8_malformed),
        ("sw8", "oversized", stats.sw8_oversized),
        ("sw8", "duplicate", stats.sw8_duplicate),
        ("sw8-correlation", "over_limit", stats.sw8_correlation_dropped),
        ("baggage", "malformed", stats.baggage_malformed),
        ("baggage", "over_limit", stats.baggage_entries_dropped),
        ("datadog", "malformed", stats.datadog_malformed),
        ("datadog", "over_limit", stats.datadog_tags_dropped),
        ("b3", "malformed", stats.b3_malformed),
    ];
    for (format, reason, count) in rejected {
        observer.record(count, Own { format: Some(format), error_type: Some(reason), ..Own::default() });
    }
}

fn measurements_dropped(observer: &mut Observer<'_, u64, OwnSchema>) {
    let stats = stats();
    by_reason(
        observer,
        &[
            ("overflow", stats.metric_measurements_overflowed),
            ("invalid", stats.metric_measurements_invalid),
            ("thread_exit", stats.metric_measurements_dropped_thread_exit),
            ("over_capacity", stats.metric_series_over_capacity),
        ],
    );
}

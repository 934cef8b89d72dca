//! Counters of what the runtime did and what it had to drop, and why.
//!
//! Counters are bumped off the hot path only: where a segment is handed over, on the reporter
//! thread, and where a header is rejected; and by the profiler's signal handler when it drops a
//! sample (a relaxed atomic add is signal-safe).
//!
//! Each exporter's lane also counts what it delivered and dropped in counters of its own
//! ([`ExporterCounters`]), which add to the process-wide ones of their signal: the process-wide
//! `spans_exported` is the sum of every span exporter's `exported` over the process's life.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counter {
    SegmentsExported,
    SpansExported,
    SpansDroppedQueueFull,
    SpansDroppedSegmentFull,
    SpansDroppedShutdown,
    SpansDroppedExportError,
    SpansDroppedBackendDown,
    SpansDroppedRejected,
    SpansRetried,
    TraceparentMalformed,
    TraceparentDuplicate,
    TracestateMalformed,
    Sw8Malformed,
    Sw8Oversized,
    Sw8Duplicate,
    Sw8CorrelationDropped,
    BaggageMalformed,
    BaggageEntriesDropped,
    DatadogMalformed,
    DatadogTagsDropped,
    B3Malformed,
    TagKeysOverLimit,
    ProfileSamples,
    ProfileSamplesDropped,
    AllocSamples,
    AllocSamplesDropped,
    AllocBlocksUntracked,
    ProfilesExported,
    ProfilesDroppedQueueFull,
    ProfilesDroppedShutdown,
    ProfilesDroppedExportError,
    ProfilesDroppedBackendDown,
    ProfilesDroppedRejected,
    ProfilesRetried,
    MetricMeasurementsInvalid,
    MetricMeasurementsOverflowed,
    MetricMeasurementsDroppedThreadExit,
    MetricSeriesOverCapacity,
    MetricCallbacksFailed,
    MetricPointsExported,
    MetricPointsDroppedShutdown,
    MetricPointsDroppedExportError,
    MetricPointsDroppedBackendDown,
    MetricPointsDroppedRejected,
    MetricPointsRetried,
    MetricSnapshotsSuperseded,
    LogRecordsFiltered,
    LogRecordsRateLimited,
    LogRecordsTruncated,
    LogAttributesDropped,
    LogRecordsExported,
    LogRecordsDroppedQueueFull,
    LogRecordsDroppedShutdown,
    LogRecordsDroppedExportError,
    LogRecordsDroppedBackendDown,
    LogRecordsDroppedRejected,
    LogRecordsRetried,
    /// Not a counter: the number of counters. Must stay last.
    Len,
}

const COUNTERS: usize = Counter::Len as usize;

static VALUES: [AtomicU64; COUNTERS] = [const { AtomicU64::new(0) }; COUNTERS];

pub(crate) fn add(counter: Counter, n: u64) {
    VALUES[counter as usize].fetch_add(n, Ordering::Relaxed);
}

/// One counter's value: a relaxed load, async-signal-safe (the fork handler reads it).
pub(crate) fn get(counter: Counter) -> u64 {
    VALUES[counter as usize].load(Ordering::Relaxed)
}

/// What an exporter carries: a signal, in OpenTelemetry's sense.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Signal {
    /// Span batches: an entry's counts are spans.
    Spans,
    /// CPU profiles: an entry's counts are profiles (one per window).
    Profiles,
    /// Collections of the metrics: an entry's counts are metric points (one per series of each
    /// collection).
    Metrics,
    /// Batches of log records: an entry's counts are log records.
    Logs,
}

impl Signal {
    /// The units counted, plural, as the process-wide counters' names begin.
    pub(crate) fn noun(self) -> &'static str {
        match self {
            Self::Spans => "spans",
            Self::Profiles => "profiles",
            Self::Metrics => "metric_points",
            Self::Logs => "log_records",
        }
    }

    /// The process-wide counter an exporter's `outcome` adds to.
    fn counter(self, outcome: Outcome) -> Counter {
        match (self, outcome) {
            (Self::Spans, Outcome::Exported) => Counter::SpansExported,
            (Self::Spans, Outcome::Retried) => Counter::SpansRetried,
            (Self::Spans, Outcome::DroppedBackendDown) => Counter::SpansDroppedBackendDown,
            (Self::Spans, Outcome::DroppedRejected) => Counter::SpansDroppedRejected,
            (Self::Spans, Outcome::DroppedExportError) => Counter::SpansDroppedExportError,
            (Self::Spans, Outcome::DroppedShutdown) => Counter::SpansDroppedShutdown,
            (Self::Profiles, Outcome::Exported) => Counter::ProfilesExported,
            (Self::Profiles, Outcome::Retried) => Counter::ProfilesRetried,
            (Self::Profiles, Outcome::DroppedBackendDown) => Counter::ProfilesDroppedBackendDown,
            (Self::Profiles, Outcome::DroppedRejected) => Counter::ProfilesDroppedRejected,
            (Self::Profiles, Outcome::DroppedExportError) => Counter::ProfilesDroppedExportError,
            (Self::Profiles, Outcome::DroppedShutdown) => Counter::ProfilesDroppedShutdown,
            (Self::Metrics, Outcome::Exported) => Counter::MetricPointsExported,
            (Self::Metrics, Outcome::Retried) => Counter::MetricPointsRetried,
            (Self::Metrics, Outcome::DroppedBackendDown) => Counter::MetricPointsDroppedBackendDown,
            (Self::Metrics, Outcome::DroppedRejected) => Counter::MetricPointsDroppedRejected,
            (Self::Metrics, Outcome::DroppedExportError) => Counter::MetricPointsDroppedExportError,
            (Self::Metrics, Outcome::DroppedShutdown) => Counter::MetricPointsDroppedShutdown,
            (Self::Logs, Outcome::Exported) => Counter::LogRecordsExported,
            (Self::Logs, Outcome::Retried) => Counter::LogRecordsRetried,
            (Self::Logs, Outcome::DroppedBackendDown) => Counter::LogRecordsDroppedBackendDown,
            (Self::Logs, Outcome::DroppedRejected) => Counter::LogRecordsDroppedRejected,
            (Self::Logs, Outcome::DroppedExportError) => Counter::LogRecordsDroppedExportError,
            (Self::Logs, Outcome::DroppedShutdown) => Counter::LogRecordsDroppedShutdown,
        }
    }
}

/// What became of units an exporter was given (the fields of [`ExporterStats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Exported,
    Retried,
    DroppedBackendDown,
    DroppedRejected,
    DroppedExportError,
    DroppedShutdown,
}

const OUTCOMES: usize = Outcome::DroppedShutdown as usize + 1;

/// One exporter's counters: written by its lane, read by [`stats`].
#[derive(Debug)]
pub(crate) struct ExporterCounters {
    name: String,
    signal: Signal,
    values: [AtomicU64; OUTCOMES],
}

impl ExporterCounters {
    pub(crate) fn new(name: &str, signal: Signal) -> Arc<Self> {
        Arc::new(Self { name: name.to_owned(), signal, values: [const { AtomicU64::new(0) }; OUTCOMES] })
    }

    /// Counts `n` units of this exporter's signal, in its own counter and the process-wide one.
    pub(crate) fn add(&self, outcome: Outcome, n: u64) {
        self.values[outcome as usize].fetch_add(n, Ordering::Relaxed);
        add(self.signal.counter(outcome), n);
    }

    pub(crate) fn snapshot(&self) -> ExporterStats {
        let get = |outcome: Outcome| self.values[outcome as usize].load(Ordering::Relaxed);
        ExporterStats {
            name: self.name.clone(),
            signal: self.signal,
            exported: get(Outcome::Exported),
            retried: get(Outcome::Retried),
            dropped_backend_down: get(Outcome::DroppedBackendDown),
            dropped_rejected: get(Outcome::DroppedRejected),
            dropped_export_error: get(Outcome::DroppedExportError),
            dropped_shutdown: get(Outcome::DroppedShutdown),
        }
    }
}

/// The exporters of the running `init`, or of the last one once it has shut down.
static EXPORTERS: Mutex<Vec<Arc<ExporterCounters>>> = Mutex::new(Vec::new());

/// Makes `exporters` the ones [`stats`] lists (at `init`).
pub(crate) fn set_exporters(exporters: Vec<Arc<ExporterCounters>>) {
    *EXPORTERS.lock().unwrap_or_else(|e| e.into_inner()) = exporters;
}

/// What one exporter delivered and dropped since the `init` that started it, in its signal's
/// units (spans, profiles, or metric points). Counts are kept as the process-wide ones in [`Stats`] are, and
/// add to them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExporterStats {
    /// The exporter and its destination, as its messages on standard error name it:
    /// `otlp (grpc http://collector:4317)`, `local (/var/spans/traces.jsonl)`.
    pub name: String,
    /// What it carries.
    pub signal: Signal,
    /// Units delivered: written, or accepted by the backend.
    pub exported: u64,
    /// Units sent again after a retryable failure, once per retry.
    pub retried: u64,
    /// Units given up while the backend was unreachable, failing or too slow to keep up: the
    /// oldest beyond the exporter's backlog are dropped first.
    pub dropped_backend_down: u64,
    /// Units the backend refused: a non-retryable error, an authentication error, or a
    /// partial success's rejections.
    pub dropped_rejected: u64,
    /// Units the exporter failed on itself: a file or stream it could not write, or a panic in
    /// its code.
    pub dropped_export_error: u64,
    /// Units it still held at the shutdown deadline.
    pub dropped_shutdown: u64,
}

/// A snapshot of the runtime's counters since the process started.
///
/// The `spans_` and `profiles_` counters are process-wide. Those an exporter counts (exported,
/// retried, and the drops for backend down, rejected, export error and, partly, shutdown) are
/// summed over every exporter that ran: with `otlp,local`, a span both delivered counts twice in
/// `spans_exported`, and a span the OTLP backend lost while `local` wrote it counts once in
/// `spans_exported` and once in `spans_dropped_backend_down`. Which exporter counted what is in
/// [`exporters`](Self::exporters). The queue's drops (`spans_dropped_queue_full`,
/// `spans_dropped_segment_full`, spans ended after shutdown) happen before any exporter and count
/// each span once.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Stats {
    /// Segments delivered, summed over the configured exporters.
    pub segments_exported: u64,
    /// Spans delivered (written, or accepted by the backend), summed over the configured
    /// exporters: with two exporters, a span delivered to both counts twice.
    pub spans_exported: u64,
    /// Spans dropped because the export queue was full: the reporter thread could not take them
    /// as fast as they came, or no exporter could.
    pub spans_dropped_queue_full: u64,
    /// Spans not recorded because their segment reached its span limit.
    pub spans_dropped_segment_full: u64,
    /// Spans that ended after shutdown, or that shutdown could not deliver by its deadline.
    pub spans_dropped_shutdown: u64,
    /// Spans an exporter failed on itself: a file or stream it could not write, or a panic in
    /// its code.
    pub spans_dropped_export_error: u64,
    /// Spans an exporter gave up while its backend was unreachable, failing or too slow to keep
    /// up with the others: each exporter drops its own oldest beyond its export backlog
    /// (`SPANSCOPE_EXPORT_BACKLOG`).
    pub spans_dropped_backend_down: u64,
    /// Spans a backend refused: a non-retryable error, an authentication error, or spans it
    /// reported as rejected in a partial success.
    pub spans_dropped_rejected: u64,
    /// Spans sent again after a retryable failure, counted once per retry.
    pub spans_retried: u64,
    /// Incoming `traceparent` fields ignored as malformed.
    pub traceparent_malformed: u64,
    /// Incoming requests ignored because they carried `traceparent` more than once.
    pub traceparent_duplicate: u64,
    /// Incoming `tracestate` fields not forwarded because they were malformed or over limits.
    pub tracestate_malformed: u64,
    /// Incoming `sw8` headers ignored as malformed (field count, Base64, span index, empty field).
    pub sw8_malformed: u64,
    /// Incoming `sw8` headers ignored for being over 2 KB.
    pub sw8_oversized: u64,
    /// Incoming requests whose `sw8` header was repeated.
    pub sw8_duplicate: u64,
    /// `sw8-correlation` entries dropped: malformed, over 3 entries or over 128 bytes.
    pub sw8_correlation_dropped: u64,
    /// W3C `baggage` members skipped as malformed.
    pub baggage_malformed: u64,
    /// Baggage entries dropped over the W3C limits (64 entries, 8192 bytes); the unread rest of
    /// `baggage` fields over 64 members or 8192 bytes in all counts as one.
    pub baggage_entries_dropped: u64,
    /// Incoming Datadog contexts ignored as malformed or repeated.
    pub datadog_malformed: u64,
    /// `x-datadog-tags` dropped: over 512 characters or malformed.
    pub datadog_tags_dropped: u64,
    /// Incoming B3 contexts (single or multi) ignored as malformed or repeated.
    pub b3_malformed: u64,
    /// Tags not recorded because their key was named at run time (by the `tracing` or
    /// OpenTelemetry bridge) after 1024 distinct such keys had been seen.
    pub tag_keys_over_limit: u64,
    /// CPU samples the profiler took and counted into a profile, in timer periods (a sample
    /// whose signal was delayed past further expirations counts for each of them).
    pub profile_samples: u64,
    /// CPU samples the profiler's signal handler could not store (its sample ring was full, or
    /// more threads were being sampled at once than it has unwinder caches).
    pub profile_samples_dropped: u64,
    /// Allocation samples counted into a profile (one per sampled allocation; see
    /// [`alloc`](crate::alloc)).
    pub alloc_samples: u64,
    /// Allocation samples the allocator hook could not store (its sample ring was full, or more
    /// threads were walking their stacks at once than the unwinder has caches).
    pub alloc_samples_dropped: u64,
    /// Sampled allocations counted as allocated but not followed to their free, so left out of
    /// the in-use values: the table of sampled blocks had no free slot near their address.
    pub alloc_blocks_untracked: u64,
    /// Profiles (one per window) delivered, summed over the profile exporters.
    pub profiles_exported: u64,
    /// Profiles dropped because the queue to the profile backends was full.
    pub profiles_dropped_queue_full: u64,
    /// Profiles made after shutdown began, or that shutdown could not deliver by its deadline.
    pub profiles_dropped_shutdown: u64,
    /// Profiles the `local` exporter failed to write, or a profile exporter failed on itself (a
    /// panic in its code).
    pub profiles_dropped_export_error: u64,
    /// Profiles given up while a backend was unreachable, failing or too slow to keep up: the
    /// oldest beyond the profile backlog (a few windows) are dropped first.
    pub profiles_dropped_backend_down: u64,
    /// Profiles a backend refused: a non-retryable error or an authentication error.
    pub profiles_dropped_rejected: u64,
    /// Profiles sent again after a retryable failure, counted once per retry.
    pub profiles_retried: u64,
    /// Metric recordings dropped for their value: NaN or infinite, or a negative increment of
    /// a counter.
    pub metric_measurements_invalid: u64,
    /// Metric recordings of attribute sets over their instrument's cardinality limit
    /// (`SPANSCOPE_METRICS_CARDINALITY_LIMIT`), added to its `otel.metric.overflow` series.
    pub metric_measurements_overflowed: u64,
    /// Metric recordings made by a thread while it was exiting, after its cells were handed
    /// to the collector (from other thread-locals' destructors).
    pub metric_measurements_dropped_thread_exit: u64,
    /// Metric recordings dropped because the process had no series left (131,072 over all
    /// instruments) for their instrument's overflow series.
    pub metric_series_over_capacity: u64,
    /// Collections at which an observable instrument's callback panicked.
    pub metric_callbacks_failed: u64,
    /// Metric points delivered (one per series of each collection), summed over the metrics
    /// exporters.
    pub metric_points_exported: u64,
    /// Metric points of collections that shutdown could not deliver by its deadline.
    pub metric_points_dropped_shutdown: u64,
    /// Metric points a metrics exporter failed on itself: a file or stream it could not write,
    /// or a panic in its code.
    pub metric_points_dropped_export_error: u64,
    /// Metric points given up while a backend was unreachable or failing. (A collection that
    /// waits while a newer one arrives is replaced by it, not dropped: collections are
    /// cumulative; see `metric_snapshots_superseded`.)
    pub metric_points_dropped_backend_down: u64,
    /// Metric points a backend refused.
    pub metric_points_dropped_rejected: u64,
    /// Metric points sent again after a retryable failure, counted once per retry.
    pub metric_points_retried: u64,
    /// Collections an exporter never sent because a newer one arrived while they waited: the
    /// newer one holds everything they did (values are cumulative), only their exemplars are lost.
    pub metric_snapshots_superseded: u64,
    /// Log records the filter (`SPANSCOPE_LOGS_FILTER`) turned away for their target after a
    /// bridge asked for them. Records below every level the filter passes are stopped by a
    /// first check (or by the facade's own cached one) and not counted.
    pub log_records_filtered: u64,
    /// Log records dropped by their call site's rate limit (`SPANSCOPE_LOGS_RATE_LIMIT`).
    pub log_records_rate_limited: u64,
    /// Log records whose body or an attribute value was cut to its length limit.
    pub log_records_truncated: u64,
    /// Attributes left off log records beyond `OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT`.
    pub log_attributes_dropped: u64,
    /// Log records delivered, summed over the logs exporters.
    pub log_records_exported: u64,
    /// Log records dropped because the queue to the reporter was full
    /// (`OTEL_BLRP_MAX_QUEUE_SIZE`).
    pub log_records_dropped_queue_full: u64,
    /// Log records made after shutdown, or that shutdown could not deliver by its deadline.
    pub log_records_dropped_shutdown: u64,
    /// Log records an exporter failed on itself: a file or stream it could not write.
    pub log_records_dropped_export_error: u64,
    /// Log records given up while a backend was unreachable, failing or too slow.
    pub log_records_dropped_backend_down: u64,
    /// Log records a backend refused.
    pub log_records_dropped_rejected: u64,
    /// Log records sent again after a retryable failure, counted once per retry.
    pub log_records_retried: u64,
    /// Each exporter's own counts, for the exporters of the running `init` (or of the last one,
    /// once shut down), in the order configured: span exporters, then profile exporters with a
    /// network destination (the profiler's `local` files are written by the profiler itself),
    /// then metrics exporters, then logs exporters.
    pub exporters: Vec<ExporterStats>,
}

/// The runtime's counters now.
pub fn stats() -> Stats {
    Stats {
        segments_exported: get(Counter::SegmentsExported),
        spans_exported: get(Counter::SpansExported),
        spans_dropped_queue_full: get(Counter::SpansDroppedQueueFull),
        spans_dropped_segment_full: get(Counter::SpansDroppedSegmentFull),
        spans_dropped_shutdown: get(Counter::SpansDroppedShutdown),
        spans_dropped_export_error: get(Counter::SpansDroppedExportError),
        spans_dropped_backend_down: get(Counter::SpansDroppedBackendDown),
        spans_dropped_rejected: get(Counter::SpansDroppedRejected),
        spans_retried: get(Counter::SpansRetried),
        traceparent_malformed: get(Counter::TraceparentMalformed),
        traceparent_duplicate: get(Counter::TraceparentDuplicate),
        tracestate_malformed: get(Counter::TracestateMalformed),
        sw8_malformed: get(Counter::Sw8Malformed),
        sw8_oversized: get(Counter::Sw8Oversized),
        sw8_duplicate: get(Counter::Sw8Duplicate),
        sw8_correlation_dropped: get(Counter::Sw8CorrelationDropped),
        baggage_malformed: get(Counter::BaggageMalformed),
        baggage_entries_dropped: get(Counter::BaggageEntriesDropped),
        datadog_malformed: get(Counter::DatadogMalformed),
        datadog_tags_dropped: get(Counter::DatadogTagsDropped),
        b3_malformed: get(Counter::B3Malformed),
        tag_keys_over_limit: get(Counter::TagKeysOverLimit),
        profile_samples: get(Counter::ProfileSamples),
        profile_samples_dropped: get(Counter::ProfileSamplesDropped),
        alloc_samples: get(Counter::AllocSamples),
        alloc_samples_dropped: get(Counter::AllocSamplesDropped),
        alloc_blocks_untracked: get(Counter::AllocBlocksUntracked),
        profiles_exported: get(Counter::ProfilesExported),
        profiles_dropped_queue_full: get(Counter::ProfilesDroppedQueueFull),
        profiles_dropped_shutdown: get(Counter::ProfilesDroppedShutdown),
        profiles_dropped_export_error: get(Counter::ProfilesDroppedExportError),
        profiles_dropped_backend_down: get(Counter::ProfilesDroppedBackendDown),
        metric_measurements_invalid: get(Counter::MetricMeasurementsInvalid),
        metric_measurements_overflowed: get(Counter::MetricMeasurementsOverflowed),
        metric_measurements_dropped_thread_exit: get(Counter::MetricMeasurementsDroppedThreadExit),
        metric_series_over_capacity: get(Counter::MetricSeriesOverCapacity),
        metric_callbacks_failed: get(Counter::MetricCallbacksFailed),
        metric_points_exported: get(Counter::MetricPointsExported),
        metric_points_dropped_shutdown: get(Counter::MetricPointsDroppedShutdown),
        metric_points_dropped_export_error: get(Counter::MetricPointsDroppedExportError),
        metric_points_dropped_backend_down: get(Counter::MetricPointsDroppedBackendDown),
        metric_points_dropped_rejected: get(Counter::MetricPointsDroppedRejected),
        metric_points_retried: get(Counter::MetricPointsRetried),
        metric_snapshots_superseded: get(Counter::MetricSnapshotsSuperseded),
        log_records_filtered: get(Counter::LogRecordsFiltered),
        log_records_rate_limited: get(Counter::LogRecordsRateLimited),
        log_records_truncated: get(Counter::LogRecordsTruncated),
        log_attributes_dropped: get(Counter::LogAttributesDropped),
        log_records_exported: get(Counter::LogRecordsExported),
        log_records_dropped_queue_full: get(Counter::LogRecordsDroppedQueueFull),
        log_records_dropped_shutdown: get(Counter::LogRecordsDroppedShutdown),
        log_records_dropped_export_error: get(Counter::LogRecordsDroppedExportError),
        log_records_dropped_backend_down: get(Counter::LogRecordsDroppedBackendDown),
        log_records_dropped_rejected: get(Counter::LogRecordsDroppedRejected),
        log_records_retried: get(Counter::LogRecordsRetried),
        profiles_dropped_rejected: get(Counter::ProfilesDroppedRejected),
        profiles_retried: get(Counter::ProfilesRetried),
        exporters: EXPORTERS.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|e| e.snapshot()).collect(),
    }
}

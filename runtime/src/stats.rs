//! Counters of what the runtime did and what it had to drop, and why.
//!
//! Counters are bumped off the hot path only: where a segment is handed over, on the reporter
//! thread, and where a header is rejected; and by the profiler's signal handler when it drops a
//! sample (a relaxed atomic add is signal-safe).

use std::sync::atomic::{AtomicU64, Ordering};

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
    ProfilesExported,
    ProfilesDroppedQueueFull,
    ProfilesDroppedShutdown,
    ProfilesDroppedExportError,
    ProfilesDroppedBackendDown,
    ProfilesDroppedRejected,
    ProfilesRetried,
    /// Not a counter: the number of counters. Must stay last.
    Len,
}

const COUNTERS: usize = Counter::Len as usize;

static VALUES: [AtomicU64; COUNTERS] = [const { AtomicU64::new(0) }; COUNTERS];

pub(crate) fn add(counter: Counter, n: u64) {
    VALUES[counter as usize].fetch_add(n, Ordering::Relaxed);
}

fn get(counter: Counter) -> u64 {
    VALUES[counter as usize].load(Ordering::Relaxed)
}

/// A snapshot of the runtime's counters since the process started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Stats {
    /// Segments delivered, summed over the configured exporters.
    pub segments_exported: u64,
    /// Spans delivered (written, or accepted by the backend), summed over the configured
    /// exporters: with two exporters, a span delivered to both counts twice.
    pub spans_exported: u64,
    /// Spans dropped because the export queue was full.
    pub spans_dropped_queue_full: u64,
    /// Spans not recorded because their segment reached its span limit.
    pub spans_dropped_segment_full: u64,
    /// Spans that ended after shutdown, or that shutdown could not deliver by its deadline.
    pub spans_dropped_shutdown: u64,
    /// Spans an exporter failed to write to its file or stream.
    pub spans_dropped_export_error: u64,
    /// Spans given up while a backend was unreachable or failing: the oldest beyond the
    /// export backlog (`SPANSCOPE_EXPORT_BACKLOG`) are dropped first.
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
    /// Profiles (one per window) delivered, summed over the profile exporters.
    pub profiles_exported: u64,
    /// Profiles dropped because the queue to the profile backends was full.
    pub profiles_dropped_queue_full: u64,
    /// Profiles made after shutdown began, or that shutdown could not deliver by its deadline.
    pub profiles_dropped_shutdown: u64,
    /// Profiles the `local` exporter failed to write.
    pub profiles_dropped_export_error: u64,
    /// Profiles given up while a backend was unreachable, failing or too slow to keep up: the
    /// oldest beyond the profile backlog (a few windows) are dropped first.
    pub profiles_dropped_backend_down: u64,
    /// Profiles a backend refused: a non-retryable error or an authentication error.
    pub profiles_dropped_rejected: u64,
    /// Profiles sent again after a retryable failure, counted once per retry.
    pub profiles_retried: u64,
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
        profiles_exported: get(Counter::ProfilesExported),
        profiles_dropped_queue_full: get(Counter::ProfilesDroppedQueueFull),
        profiles_dropped_shutdown: get(Counter::ProfilesDroppedShutdown),
        profiles_dropped_export_error: get(Counter::ProfilesDroppedExportError),
        profiles_dropped_backend_down: get(Counter::ProfilesDroppedBackendDown),
        profiles_dropped_rejected: get(Counter::ProfilesDroppedRejected),
        profiles_retried: get(Counter::ProfilesRetried),
    }
}

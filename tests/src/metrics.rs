//! What the metrics exporters' tests share: the metrics exporter's own counts, and the check that
//! a backend that is down costs recording nothing and loses only what it counts.

use spanscope::{ExporterStats, Guard, Signal, Stats};

use crate::collector::{exporter_of, shut_down_while_down};

/// The running metrics exporter's counts.
///
/// # Panics
/// If no metrics exporter runs.
pub fn metrics_exporter() -> ExporterStats {
    exporter_of(Signal::Metrics)
}

/// With the metrics backend of `guard`'s run down (nothing listening), and something recorded
/// already: a flush cannot finish while recording goes on (`record_more` runs meanwhile), and at
/// shutdown the points it had in hand (at least `min_lost`) are counted as lost, once, in the
/// exporter's counts and the process-wide ones since `before`.
///
/// # Panics
/// If any of that does not hold.
pub fn assert_a_down_backend_loses_only_what_it_counts(
    guard: Guard,
    before: &Stats,
    record_more: impl Fn(),
    min_lost: u64,
) {
    let (after, exporter) = shut_down_while_down(guard, Signal::Metrics, record_more);
    let lost = exporter.dropped_backend_down + exporter.dropped_shutdown;
    assert!(lost >= min_lost, "the points in hand at shutdown are counted: {exporter:?}");
    assert_eq!(
        after.metric_points_dropped_backend_down + after.metric_points_dropped_shutdown
            - before.metric_points_dropped_backend_down
            - before.metric_points_dropped_shutdown,
        lost
    );
}

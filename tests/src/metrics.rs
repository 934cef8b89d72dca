//! What the metrics exporters' tests share: the metrics exporter's own counts, and the check that
//! a backend that is down costs recording nothing and loses only what it counts.

use std::time::Duration;

use spanscope::{ExporterStats, Guard, Signal, Stats};

use crate::collector::wait_until;

/// The running metrics exporter's counts.
///
/// # Panics
/// If no metrics exporter runs.
pub fn metrics_exporter() -> ExporterStats {
    spanscope::stats().exporters.into_iter().find(|e| e.signal == Signal::Metrics).expect("a metrics exporter")
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
    let flush = std::thread::spawn(spanscope::flush);
    wait_until("a failed attempt", Duration::from_secs(60), || metrics_exporter().retried > 0);
    for _ in 0..10_000 {
        record_more();
    }
    drop(guard);
    assert!(!flush.join().expect("flush"), "the flush says not everything was delivered");
    let after = spanscope::stats();
    let exporter = after.exporters.iter().find(|e| e.signal == Signal::Metrics).expect("a metrics exporter");
    assert_eq!(exporter.exported, 0, "{exporter:?}");
    let lost = exporter.dropped_backend_down + exporter.dropped_shutdown;
    assert!(lost >= min_lost, "the points in hand at shutdown are counted: {exporter:?}");
    assert_eq!(
        after.metric_points_dropped_backend_down + after.metric_points_dropped_shutdown
            - before.metric_points_dropped_backend_down
            - before.metric_points_dropped_shutdown,
        lost
    );
}

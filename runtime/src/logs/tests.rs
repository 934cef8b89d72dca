//! The record path from a bridge's draft to the queue, with the run and the queue installed by
//! hand: limits, counting, rate limit, spanscope's own threads, re-entrance and a storm.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Mutex, MutexGuard};

use super::*;
use crate::config::log_filter::Filter;
use crate::config::logs::Limits;
use crate::outbox::{self, OutboxReceiver};
use crate::stats::{self, Counter};

/// The run and queue are process-wide: one test at a time installs them.
fn installed(capacity: usize, rate_limit: u32) -> (MutexGuard<'static, ()>, OutboxReceiver<LogRecord>) {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    crate::clock::start();
    let (sender, receiver) = outbox::channel(capacity);
    queue::install(sender);
    crate::state::publish_logs(crate::state::LogRun {
        export: true,
        filter: Filter::parse("SPANSCOPE_LOGS_FILTER", "info,app::noisy=warn").unwrap(),
        limits: Limits { body: 100, value: 10, attributes: 128 },
        rate_limit,
    });
    (guard, receiver)
}

fn received(receiver: &mut OutboxReceiver<LogRecord>) -> Vec<LogRecord> {
    std::iter::from_fn(|| receiver.items.try_recv().ok()).collect()
}

/// A call site of its own for each use.
macro_rules! callsite {
    () => {{
        static SITE: u8 = 0;
        std::ptr::addr_of!(SITE) as usize
    }};
}

fn draft_at(level: Level, callsite: usize) -> Option<Draft> {
    draft(Origin { level, target: Cow::Borrowed("app::orders"), location: None, callsite, attributes: 0 })
}

#[test]
fn a_huge_message_and_thousands_of_fields_are_cut_to_the_limits_and_counted() {
    let (_guard, mut receiver) = installed(16, 0);
    let truncated = stats::get(Counter::LogRecordsTruncated);
    let dropped = stats::get(Counter::LogAttributesDropped);
    let mut draft = draft_at(Level::Warn, callsite!()).expect("warn passes the default filter");
    let huge = "é".repeat(5 << 20);
    draft.write_body(|out| out.write_str(&huge));
    for i in 0..10_000 {
        draft.attribute(Name::Copied(&format!("field{i}")), Value::Str("a value longer than ten"));
    }
    draft.submit();
    let [record] = received(&mut receiver).try_into().unwrap();
    assert_eq!(record.body().chars().count(), 100);
    assert!(record.body().chars().all(|c| c == 'é'), "cut between characters, never inside one");
    assert_eq!((record.attribute_count(), record.dropped_attributes), (128, 10_000 - 128));
    assert_eq!(record.attributes().next(), Some(("field0", Value::Str("a value lo"))));
    assert!(stats::get(Counter::LogRecordsTruncated) > truncated);
    assert!(stats::get(Counter::LogAttributesDropped) >= dropped + 9_872);
}

#[test]
fn a_display_that_logs_does_not_deadlock_and_both_records_arrive() {
    struct LogsWhileFormatted;
    impl fmt::Display for LogsWhileFormatted {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let mut inner = draft_at(Level::Info, callsite!()).expect("passes");
            inner.set_body("from inside Display");
            inner.submit();
            f.write_str("outer")
        }
    }
    let (_guard, mut receiver) = installed(16, 0);
    let mut outer = draft_at(Level::Info, callsite!()).expect("passes");
    outer.write_body(|out| write!(out, "{}", LogsWhileFormatted));
    outer.submit();
    let bodies: Vec<String> = received(&mut receiver).into_iter().map(|r| r.body().to_owned()).collect();
    assert_eq!(bodies, ["from inside Display", "outer"]);
}

#[test]
fn the_filter_the_rate_limit_and_own_threads_turn_records_away_and_count_them() {
    let (_guard, mut receiver) = installed(2048, 5);
    let filtered = stats::get(Counter::LogRecordsFiltered);
    assert!(draft_at(Level::Debug, callsite!()).is_none(), "below every level: stopped by the first check");
    assert!(draft(Origin {
        level: Level::Info,
        target: Cow::Borrowed("app::noisy::db"),
        location: None,
        callsite: callsite!(),
        attributes: 0,
    })
    .is_none());
    assert_eq!(stats::get(Counter::LogRecordsFiltered), filtered + 1, "only the filter's own refusals count");
    let limited = stats::get(Counter::LogRecordsRateLimited);
    let site = callsite!();
    let admitted = (0..20).filter_map(|_| draft_at(Level::Info, site)).map(Draft::submit).count();
    // Unless the second turned over between two of them: then a few more.
    assert!((5..=10).contains(&admitted), "{admitted} admitted");
    assert_eq!(stats::get(Counter::LogRecordsRateLimited), limited + 20 - admitted as u64);
    std::thread::spawn(|| {
        crate::state::mark_own_thread();
        assert!(draft_at(Level::Error, callsite!()).is_none(), "spanscope's own threads keep nothing");
    })
    .join()
    .unwrap();
    assert_eq!(received(&mut receiver).len(), admitted);
}

#[test]
fn a_storm_from_eight_threads_stays_within_the_queue_and_every_record_is_counted() {
    let (_guard, mut receiver) = installed(1000, 0);
    let full = stats::get(Counter::LogRecordsDroppedQueueFull);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for i in 0..10_000 {
                    let mut draft = draft_at(Level::Error, callsite!()).expect("passes");
                    draft.write_body(|out| write!(out, "storm {i}"));
                    draft.submit();
                }
            });
        }
    });
    let kept = received(&mut receiver).len() as u64;
    assert_eq!(kept, 1000, "the queue holds its capacity and no more");
    assert_eq!(stats::get(Counter::LogRecordsDroppedQueueFull) - full, 80_000 - kept);
}

#[test]
fn nothing_is_kept_once_withdrawn() {
    let (_guard, mut receiver) = installed(16, 0);
    crate::state::withdraw_logs();
    assert!(!enabled(Level::Error, "app"));
    assert!(draft_at(Level::Error, callsite!()).is_none());
    assert!(received(&mut receiver).is_empty());
}

//! Hostile records through the `log` bridge, end to end to `logs.jsonl`: a 10 MB message and
//! 10,000 key-values cut to the documented limits and counted; text that was not UTF-8; a
//! `Display` that logs while it is formatted; a storm from 8 threads, bounded in memory and
//! every record counted.

use std::fmt;
use std::path::{Path, PathBuf};

use spanscope_readback::logs::{read_logs, ExportedLog};
use spanscope_tests::collector::serial;
use spanscope_tests::fresh_dir;
use spanscope_tests::otlp_logs::install_bridges;

/// Runs `body` with spanscope writing logs to a fresh folder (extra variables `vars`), shuts
/// down, and returns the records written.
fn logged(vars: &[(&str, &str)], body: impl FnOnce()) -> (Vec<ExportedLog>, spanscope::Stats, spanscope::Stats) {
    let _serial = serial();
    install_bridges();
    let dir: PathBuf = fresh_dir("logs-hostile");
    let mut config = spanscope::Config::new().service_name("hostile").out_dir(&dir).exporters([]);
    for (name, value) in vars {
        config = config.var(*name, *value);
    }
    let before = spanscope::stats();
    let guard = spanscope::try_init(config).expect("spanscope init");
    body();
    drop(guard);
    (read_logs(&Path::new(&dir).join("logs.jsonl")), before, spanscope::stats())
}

/// Key-values, each with the same value.
struct ManyFields {
    keys: Vec<String>,
    value: String,
}

impl log::kv::Source for ManyFields {
    fn visit<'kvs>(&'kvs self, visitor: &mut dyn log::kv::VisitSource<'kvs>) -> Result<(), log::kv::Error> {
        for key in &self.keys {
            visitor.visit_pair(log::kv::Key::from_str(key), log::kv::Value::from(self.value.as_str()))?;
        }
        Ok(())
    }
}

#[test]
fn a_ten_megabyte_message_and_ten_thousand_fields_are_cut_to_the_limits_and_counted() {
    let huge = "é".repeat(5 << 20);
    // Values longer than the value limit.
    let fields = ManyFields { keys: (0..10_000).map(|i| format!("field{i}")).collect(), value: "v".repeat(5000) };
    let (logs, before, after) = logged(&[], || {
        log::logger().log(
            &log::Record::builder()
                .level(log::Level::Warn)
                .target("hostile")
                .args(format_args!("{huge}"))
                .key_values(&fields)
                .build(),
        );
    });
    let [record] = logs.as_slice() else { panic!("one record, got {}", logs.len()) };
    assert_eq!(record.body.chars().count(), 32_768, "the body limit, in characters");
    assert!(record.body.chars().all(|c| c == 'é'), "cut between characters");
    let fields: Vec<_> = record.attributes.keys().filter(|key| key.starts_with("field")).collect();
    assert_eq!(fields.len(), 128, "OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT");
    assert_eq!(record.dropped_attributes, 10_000 - 128);
    assert_eq!(record.attributes["field0"].as_str().map(str::len), Some(4096), "the value limit");
    assert_eq!(after.log_records_truncated - before.log_records_truncated, 1);
    assert_eq!(after.log_attributes_dropped - before.log_attributes_dropped, 10_000 - 128);
}

/// Formats as text that was not UTF-8, repaired, and logs while it is formatted.
struct Reentrant;

impl fmt::Display for Reentrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        log::warn!(target: "hostile", "logged from inside Display");
        f.write_str(&String::from_utf8_lossy(b"bytes \xff\xfe\xc3 then text"))
    }
}

#[test]
fn text_that_was_not_utf8_and_a_display_that_logs_arrive_intact() {
    let (logs, _, _) = logged(&[], || {
        log::info!(target: "hostile", raw:? = b"\xff\x00\x1b[31m"; "{}", Reentrant);
    });
    let bodies: Vec<&str> = logs.iter().map(|log| log.body.as_str()).collect();
    assert_eq!(bodies, ["logged from inside Display", "bytes \u{fffd}\u{fffd}\u{fffd} then text"]);
    assert_eq!(logs[1].attributes["raw"], "[255, 0, 27, 91, 51, 49, 109]");
}

/// This process's resident memory, in KiB.
fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|line| line.starts_with("VmRSS:")).unwrap_or("VmRSS: 0 kB");
    line.split_whitespace().nth(1).and_then(|kib| kib.parse().ok()).unwrap_or(0)
}

#[test]
fn a_storm_from_eight_threads_stays_bounded_and_every_record_is_counted() {
    const THREADS: u64 = 8;
    const EACH: u64 = 100_000;
    let mut growth = 0;
    let (logs, before, after) = logged(&[("SPANSCOPE_LOGS_RATE_LIMIT", "100000")], || {
        let start = resident_kib();
        std::thread::scope(|scope| {
            for thread in 0..THREADS {
                scope.spawn(move || {
                    for i in 0..EACH {
                        log::error!(target: "storm", thread, i; "storm record {i} with a body of some length");
                    }
                });
            }
        });
        growth = resident_kib().saturating_sub(start);
    });
    let made = THREADS * EACH;
    let exported = after.log_records_exported - before.log_records_exported;
    let queue_full = after.log_records_dropped_queue_full - before.log_records_dropped_queue_full;
    let rate_limited = after.log_records_rate_limited - before.log_records_rate_limited;
    let lost = after.log_records_dropped_backend_down - before.log_records_dropped_backend_down;
    assert_eq!(exported, logs.len() as u64, "what was counted exported is in the file");
    assert_eq!(exported + queue_full + rate_limited + lost, made, "every record is counted once");
    assert!(queue_full + rate_limited > 0, "a storm this size is bounded: some records dropped");
    // The queue (2048 records) and the exporter's backlog bound what is held, not the storm's size.
    assert!(growth < 64 * 1024, "resident memory grew {growth} KiB during the storm");
}

//! The `local` logs exporter, the default, end to end: records made through the `log` bridge
//! and the `tracing` layer, inside sampled and unsampled spans and outside any, written to
//! `logs.jsonl` as OTLP/JSON requests (decoded with opentelemetry-proto's own types) and joined
//! to the spans of `traces.jsonl` written in the same run; records in hand at shutdown written;
//! the file kept within its share of the folder's budget.

use std::path::Path;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use spanscope::{Config, Guard};
use spanscope_tests::collector::serial;
use spanscope_tests::otlp_logs::{check, emit, install_bridges, service_name, string, SpanRef, EMITTED};
use spanscope_tests::{fresh_dir, read_spans};

/// Starts spanscope writing traces and logs to `dir`, with nothing said about logs exporters.
fn start(dir: &Path, adjust: impl FnOnce(Config) -> Config) -> Guard {
    install_bridges();
    let config = Config::new().service_name("logger").out_dir(dir).schedule_delay(Duration::from_millis(10));
    spanscope::try_init(adjust(config)).expect("spanscope init")
}

/// The requests of `dir/<file>`, one per line.
fn requests(dir: &Path, file: &str) -> Vec<ExportLogsServiceRequest> {
    let text = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{file}: not OTLP/JSON ({e}): {line}")))
        .collect()
}

/// The records of `dir/logs.jsonl`, with their scopes' names.
fn records(dir: &Path) -> Vec<(String, LogRecord)> {
    let requests = requests(dir, "logs.jsonl");
    let scopes = requests.into_iter().flat_map(|r| r.resource_logs).flat_map(|r| r.scope_logs);
    scopes
        .flat_map(|scope| {
            let name = scope.scope.map(|s| s.name).unwrap_or_default();
            scope.log_records.into_iter().map(move |record| (name.clone(), record))
        })
        .collect()
}

fn spans(dir: &Path) -> Vec<SpanRef> {
    let spans = read_spans(&dir.join("traces.jsonl")).into_iter();
    spans.map(|s| SpanRef { trace_id: s.trace_id, span_id: s.span_id, name: s.name }).collect()
}

#[test]
fn by_default_every_record_is_written_to_logs_jsonl_with_the_ids_of_its_span() {
    let _serial = serial();
    let dir = fresh_dir("default");
    let before = spanscope::stats();
    let guard = start(&dir, |config| config);
    let lines = emit();
    assert!(spanscope::flush(), "flush");
    let records = records(&dir);
    check(&records, &spans(&dir), &lines, "local");
    assert_eq!(records.len() as u64, EMITTED, "nothing else, nothing twice");
    let requests = requests(&dir, "logs.jsonl");
    assert_eq!(service_name(&requests[0]), Some(string("logger")));
    assert_eq!(spanscope::stats().log_records_exported - before.log_records_exported, EMITTED);
    drop(guard);
}

#[test]
fn records_in_hand_at_shutdown_are_written() {
    let _serial = serial();
    let dir = fresh_dir("shutdown");
    // Batches would wait a minute: only shutdown writes them.
    let guard = start(&dir, |config| config.var("OTEL_BLRP_SCHEDULE_DELAY", "60000"));
    let lines = emit();
    drop(guard);
    check(&records(&dir), &spans(&dir), &lines, "local at shutdown");
    assert_eq!(requests(&dir, "logs.jsonl").len(), 1, "one batch, one line");
}

#[test]
fn logs_keep_within_two_sixteenths_of_the_folder_budget() {
    let _serial = serial();
    let dir = fresh_dir("bounded");
    // 1 MiB for the folder: 128 KiB for logs, in two files of half that.
    let guard = start(&dir, |config| {
        config
            .var("SPANSCOPE_OUT_MAX_MB", "1")
            .var("SPANSCOPE_LOGS_RATE_LIMIT", "0")
            .var("OTEL_BLRP_SCHEDULE_DELAY", "5")
    });
    let body = "x".repeat(500);
    for round in 0..10 {
        for index in 0..100 {
            log::info!(target: "shop::bulk", round = round, index = index; "{body}");
        }
        assert!(spanscope::flush(), "flush");
    }
    drop(guard);
    let size = |file: &str| std::fs::metadata(dir.join(file)).map_or(0, |m| m.len());
    let (current, previous) = (size("logs.jsonl"), size("logs.1.jsonl"));
    assert!(previous > 0, "the file was rotated: {current} + {previous}");
    // A line is one batch of at most 100 records of about 700 bytes.
    assert!(current + previous <= 128 * 1024 + 100 * 1024, "{current} + {previous}");
    // What is left is the newest, each line a whole request.
    let last = records(&dir).pop().expect("records");
    assert!(last.1.attributes.iter().any(|kv| kv.key == "round"), "{last:?}");
    let rounds: Vec<i64> = records(&dir)
        .iter()
        .filter_map(|(_, r)| r.attributes.iter().find(|kv| kv.key == "round"))
        .filter_map(|kv| match kv.value.as_ref()?.value {
            Some(opentelemetry_proto::tonic::common::v1::any_value::Value::IntValue(round)) => Some(round),
            _ => None,
        })
        .collect();
    assert_eq!(rounds.last(), Some(&9), "the newest round is kept");
}

spanscope::tags! {
    /// The customer a record was made for, by `#[profiled]`.
    pub customer: &'static str = "app.customer",
}

/// Logs before and after an `.await`, under a `#[profiled]` tag.
#[spanscope::profiled(customer = "acme")]
async fn priced_for_acme() {
    tracing::info!(target: "shop::tags", "before the await");
    tokio::task::yield_now().await;
    log::info!(target: "shop::tags", "after the await");
}

#[test]
fn records_made_under_profiled_tags_carry_them_across_awaits() {
    let _serial = serial();
    let dir = fresh_dir("profiled-tags");
    let guard = start(&dir, |config| config);
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(async {
        tokio::spawn(priced_for_acme()).await.unwrap();
        log::info!(target: "shop::tags", "outside");
    });
    drop(guard);
    let customer_of = |body: &str| {
        let (_, record) = records(&dir)
            .into_iter()
            .find(|(_, r)| r.body.as_ref().and_then(|b| b.value.clone()) == Some(string(body)))
            .unwrap_or_else(|| panic!("no record {body:?}"));
        record.attributes.iter().find(|kv| kv.key == "app.customer").and_then(|kv| kv.value.clone()?.value)
    };
    assert_eq!(customer_of("before the await"), Some(string("acme")));
    assert_eq!(customer_of("after the await"), Some(string("acme")));
    assert_eq!(customer_of("outside"), None);
}

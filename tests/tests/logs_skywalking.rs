//! The SkyWalking logs exporter against the in-process OAP, with the SkyWalking trace exporter
//! sending to the same OAP: records from the `log` bridge and from `tracing` events, made in an
//! entry span, in a local span nested in it, and outside any span, arrive as `LogData` whose
//! trace context names a segment and a span the OAP received; the `authentication` token, a
//! wrong token, an unsampled trace, and an OAP that is down.

use std::sync::Once;
use std::time::Duration;

use spanscope::{entry, local, Signal, TracesExporter};
use spanscope_tests::collector::skywalking::proto::{log_data_body, LogData, SegmentObject, SpanObject, SpanType};
use spanscope_tests::collector::skywalking::{Collector, Options};
use spanscope_tests::collector::{free_addr, init, serial, wait_until};
use spanscope_tests::fresh_dir;
use tracing_subscriber::layer::SubscriberExt as _;

const PATIENCE: Duration = Duration::from_secs(60);
const TOKEN: &str = "s3cr3t";

/// Both bridges, installed once for the whole binary: `log`'s logger and the global `tracing`
/// subscriber with spanscope's layer.
fn bridges() {
    static BRIDGES: Once = Once::new();
    BRIDGES.call_once(|| {
        spanscope::log::init().expect("no other logger");
        let subscriber = tracing_subscriber::registry().with(spanscope::tracing::layer());
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
    });
}

/// Spans and logs to `collector`, with `vars` besides.
fn init_oap(collector: &Collector, vars: &[(&str, &str)]) -> spanscope::Guard {
    bridges();
    let mut all = vec![
        ("OTEL_LOGS_EXPORTER", "skywalking".to_owned()),
        ("OTEL_BLRP_SCHEDULE_DELAY", "20".to_owned()),
        ("SW_AGENT_COLLECTOR_BACKEND_SERVICES", collector.addr().to_string()),
        ("SW_AGENT_INSTANCE_NAME", "checkout-1".to_owned()),
    ];
    all.extend(vars.iter().map(|(name, value)| (*name, (*value).to_owned())));
    init(TracesExporter::Skywalking, &all)
}

#[entry(name = "GET /orders")]
fn handle_order() {
    log::info!(order = 7, paid = true; "order {} received", 7);
    price();
}

#[local(name = "price")]
fn price() {
    tracing::warn!(items = 3u64, "price above {}", 100);
}

/// Logs made outside any span, through each bridge.
fn outside() {
    log::warn!("cache cold");
    tracing::error!(disk = "sda", "disk full");
}

fn log_named<'a>(logs: &'a [LogData], body: &str) -> &'a LogData {
    logs.iter().find(|log| text(log) == body).unwrap_or_else(|| panic!("no log {body:?} in {logs:#?}"))
}

fn text(log: &LogData) -> &str {
    match log.body.as_ref().and_then(|body| body.content.as_ref()) {
        Some(log_data_body::Content::Text(text)) => &text.text,
        other => panic!("not a text log: {other:?}"),
    }
}

fn tag<'a>(log: &'a LogData, key: &str) -> Option<&'a str> {
    log.tags.as_ref()?.data.iter().find(|t| t.key == key).map(|t| t.value.as_str())
}

/// The segment and span a log's trace context names, among those the OAP received.
fn linked<'a>(log: &LogData, segments: &'a [SegmentObject]) -> (&'a SegmentObject, &'a SpanObject) {
    let context = log.trace_context.as_ref().unwrap_or_else(|| panic!("no trace context: {log:?}"));
    let segment = segments
        .iter()
        .find(|s| s.trace_segment_id == context.trace_segment_id)
        .unwrap_or_else(|| panic!("the OAP received no segment {}", context.trace_segment_id));
    assert_eq!(context.trace_id, segment.trace_id, "the segment's trace id");
    let span = segment
        .spans
        .iter()
        .find(|s| s.span_id == context.span_id)
        .unwrap_or_else(|| panic!("segment {} has no span {}", segment.trace_segment_id, context.span_id));
    (segment, span)
}

#[test]
fn each_log_names_the_segment_and_span_it_was_made_in() {
    let _serial = serial();
    let collector = Collector::start(Options { token: Some(TOKEN.to_owned()), tls: None });
    let guard = init_oap(&collector, &[("SW_AGENT_AUTHENTICATION", TOKEN)]);
    handle_order();
    outside();
    assert!(spanscope::flush(), "flush");
    wait_until("the segment", PATIENCE, || !collector.received.lock().unwrap().segments.is_empty());
    wait_until("four logs", PATIENCE, || collector.logs().len() >= 4);
    let logs_exporter = spanscope::stats().exporters.into_iter().find(|e| e.signal == Signal::Logs).unwrap();
    drop(guard);
    let logs = collector.logs();
    let segments = collector.received.lock().unwrap().segments.clone();
    assert_eq!(collector.received.lock().unwrap().token.as_deref(), Some(TOKEN));
    assert_eq!(logs.len(), 4, "{logs:#?}");
    assert_eq!(logs_exporter.exported, 4, "{logs_exporter:?}");

    // The `log` record in the entry span: that span, index 0 of its segment.
    let order = log_named(&logs, "order 7 received");
    let (segment, span) = linked(order, &segments);
    assert_eq!((span.operation_name.as_str(), span.span_type), ("GET /orders", SpanType::Entry as i32));
    assert_eq!(span.span_id, 0);
    assert_eq!(tag(order, "level"), Some("INFO"));
    assert_eq!(tag(order, "logger"), Some("logs_skywalking"));
    assert_eq!((tag(order, "order"), tag(order, "paid")), (Some("7"), Some("true")));
    assert!(tag(order, "code.file.path").is_some_and(|path| path.ends_with("logs_skywalking.rs")), "{order:?}");
    assert!(tag(order, "code.line.number").is_some_and(|line| line.parse::<u32>().is_ok()), "{order:?}");

    // The `tracing` event in the nested local span: the same segment, the local's index.
    let high = log_named(&logs, "price above 100");
    let (local_segment, local) = linked(high, &segments);
    assert_eq!(local_segment.trace_segment_id, segment.trace_segment_id);
    assert_eq!((local.operation_name.as_str(), local.span_type), ("price", SpanType::Local as i32));
    assert_eq!(local.parent_span_id, span.span_id);
    assert_eq!((tag(high, "level"), tag(high, "items")), (Some("WARN"), Some("3")));

    // Outside any span: no trace context, still received, through either bridge.
    for (body, level) in [("cache cold", "WARN"), ("disk full", "ERROR")] {
        let log = log_named(&logs, body);
        assert_eq!(log.trace_context, None, "{log:?}");
        assert_eq!(tag(log, "level"), Some(level));
    }
    assert_eq!(tag(log_named(&logs, "disk full"), "disk"), Some("sda"));

    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    for log in &logs {
        assert_eq!((log.service.as_str(), log.service_instance.as_str()), (segment.service.as_str(), "checkout-1"));
        assert_eq!(log.service_instance, segment.service_instance);
        assert_eq!((log.layer.as_str(), log.body.as_ref().unwrap().r#type.as_str()), ("GENERAL", "TEXT"));
        assert!(log.timestamp > now_ms - 600_000 && log.timestamp <= now_ms, "ms since the epoch: {}", log.timestamp);
    }
}

#[test]
fn a_wrong_token_is_refused_and_counted_not_retried() {
    let _serial = serial();
    let collector = Collector::start(Options { token: Some(TOKEN.to_owned()), tls: None });
    let guard = init_oap(
        &collector,
        &[
            ("SW_AGENT_AUTHENTICATION", "wrong"),
            ("SPANSCOPE_EXPORT_MAX_BACKOFF", "200"),
            ("SPANSCOPE_SHUTDOWN_TIMEOUT", "2000"),
        ],
    );
    outside();
    spanscope::flush();
    let exporter = spanscope::stats().exporters.into_iter().find(|e| e.signal == Signal::Logs).unwrap();
    drop(guard);
    assert!(collector.received.lock().unwrap().log_streams.is_empty());
    assert_eq!((exporter.exported, exporter.dropped_rejected, exporter.retried), (0, 2, 0), "{exporter:?}");
}

#[test]
fn a_log_in_an_unsampled_trace_has_no_trace_context() {
    let _serial = serial();
    let collector = Collector::start(Options::default());
    let guard = init_oap(&collector, &[("OTEL_TRACES_SAMPLER", "always_off")]);
    handle_order();
    assert!(spanscope::flush(), "flush");
    wait_until("two logs", PATIENCE, || collector.logs().len() >= 2);
    drop(guard);
    assert!(collector.received.lock().unwrap().segments.is_empty(), "nothing sampled");
    for body in ["order 7 received", "price above 100"] {
        let logs = collector.logs();
        let log = log_named(&logs, body);
        assert_eq!(log.trace_context, None, "its segment is never reported: {log:?}");
    }
}

#[test]
fn an_oap_that_is_down_costs_logging_nothing_and_its_records_are_counted() {
    let _serial = serial();
    bridges();
    let before = spanscope::stats();
    let config = spanscope::Config::new()
        .service_name("checkout")
        .out_dir(fresh_dir("logs-skywalking"))
        .exporters([])
        .var("OTEL_LOGS_EXPORTER", "skywalking")
        .var("SW_AGENT_COLLECTOR_BACKEND_SERVICES", free_addr().to_string())
        .var("OTEL_BLRP_SCHEDULE_DELAY", "20")
        .var("OTEL_BLRP_EXPORT_TIMEOUT", "500")
        .var("SPANSCOPE_LOGS_RATE_LIMIT", "0")
        .var("SPANSCOPE_SHUTDOWN_TIMEOUT", "2000");
    let guard = spanscope::try_init(config).expect("spanscope init");
    for i in 0..10 {
        log::info!("before {i}");
    }
    let logs_exporter = || spanscope::stats().exporters.into_iter().find(|e| e.signal == Signal::Logs).unwrap();
    let flush = std::thread::spawn(spanscope::flush);
    wait_until("a failed attempt", PATIENCE, || logs_exporter().retried > 0);
    // Logging goes on while the lane fails: every call returns (the queue drops when full).
    for i in 0..10_000 {
        log::info!("during {i}");
    }
    drop(guard);
    assert!(!flush.join().expect("flush"), "the flush says not everything was delivered");
    let after = spanscope::stats();
    let exporter = after.exporters.iter().find(|e| e.signal == Signal::Logs).unwrap();
    assert_eq!(exporter.exported, 0, "{exporter:?}");
    assert!(exporter.dropped_backend_down + exporter.dropped_shutdown >= 10, "{exporter:?}");
    let lost = |s: &spanscope::Stats| {
        s.log_records_dropped_queue_full
            + s.log_records_dropped_shutdown
            + s.log_records_dropped_backend_down
            + s.log_records_dropped_rejected
            + s.log_records_dropped_export_error
            + s.log_records_exported
    };
    assert_eq!(lost(&after) - lost(&before), 10_010, "every record made is counted once: {after:?}");
}

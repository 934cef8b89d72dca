//! The OTLP logs exporter against the in-process receiver: records made through the `log`
//! bridge and the `tracing` layer, inside sampled and unsampled spans and outside any, delivered
//! over gRPC, HTTP/protobuf and HTTP/JSON and joined to the spans of the same run (sent as OTLP
//! traces to the same receiver); partial success; a receiver that is down; the logs variables
//! winning over the generic ones.

use std::time::Duration;

use opentelemetry_proto::tonic::logs::v1::LogRecord;
use spanscope::{Signal, TracesExporter};
use spanscope_tests::collector::otlp::{Collector, Received};
use spanscope_tests::collector::{free_addr, serial};
use spanscope_tests::fresh_dir;
use spanscope_tests::otlp_logs::{
    assert_a_down_backend_loses_only_what_it_counts, check, emit, hex, install_bridges, service_name, string, SpanRef,
    EMITTED,
};

/// Starts spanscope with the OTLP logs exporter, the trace exporters `traces`, and `vars`.
fn init(traces: &[TracesExporter], vars: &[(&str, String)]) -> spanscope::Guard {
    install_bridges();
    let mut config = spanscope::Config::new()
        .service_name("checkout")
        .out_dir(fresh_dir("logs-otlp"))
        .exporters(traces.iter().copied())
        .schedule_delay(Duration::from_millis(20))
        .var("OTEL_LOGS_EXPORTER", "otlp")
        .var("OTEL_BLRP_SCHEDULE_DELAY", "20");
    for (name, value) in vars {
        config = config.var(*name, value.clone());
    }
    spanscope::try_init(config).expect("spanscope init")
}

/// The records received, with their scopes' names.
fn records(received: &Received) -> Vec<(String, LogRecord)> {
    received.log_records().map(|(scope, record)| (scope.to_owned(), record.clone())).collect()
}

/// The spans received, by ids.
fn spans(received: &Received) -> Vec<SpanRef> {
    let spans = received.spans();
    spans.map(|s| SpanRef { trace_id: hex(&s.trace_id), span_id: hex(&s.span_id), name: s.name.clone() }).collect()
}

/// Makes the records, flushes, stops, and checks what `collector` received, as `how`.
fn emit_and_check(collector: &Collector, guard: spanscope::Guard, how: &str) {
    let lines = emit();
    assert!(spanscope::flush(), "{how}: flush");
    drop(guard);
    let received = collector.received.lock().unwrap();
    assert_eq!(service_name(&received.logs[0]), Some(string("checkout")), "{how}");
    check(&records(&received), &spans(&received), &lines, how);
    assert_eq!(received.log_records().count() as u64, EMITTED, "{how}: nothing else, nothing twice");
}

#[test]
fn grpc_delivers_every_record_with_the_ids_of_its_span() {
    let _serial = serial();
    let before = spanscope::stats();
    let collector = Collector::grpc();
    let guard = init(
        &[TracesExporter::Otlp],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url()),
            ("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "x-tenant=acme".to_owned()),
        ],
    );
    emit_and_check(&collector, guard, "grpc");
    assert_eq!(collector.received.lock().unwrap().logs_headers["x-tenant"], "acme");
    let after = spanscope::stats();
    assert_eq!(after.log_records_exported - before.log_records_exported, EMITTED);
}

#[test]
fn http_protobuf_gzip_and_http_json_post_every_record_to_v1_logs() {
    let _serial = serial();
    for (protocol, json) in [("http/protobuf", false), ("http/json", true)] {
        let collector = Collector::http(http::StatusCode::OK);
        let guard = init(
            &[TracesExporter::Otlp],
            &[
                ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.to_owned()),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url()),
                ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip".to_owned()),
                // The receiver keeps spans it can join to only from protobuf.
                ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf".to_owned()),
            ],
        );
        emit_and_check(&collector, guard, protocol);
        let received = collector.received.lock().unwrap();
        assert!(received.paths.iter().any(|p| p == "/v1/logs"), "{protocol}: {:?}", received.paths);
        assert_eq!(received.logs_headers["content-encoding"], "gzip", "{protocol}");
        let expected = if json { received.logs.len() } else { 0 };
        assert_eq!(received.logs_json, expected, "{protocol}");
    }
}

#[test]
fn a_partial_success_counts_the_rejected_records() {
    let _serial = serial();
    let before = spanscope::stats();
    let collector = Collector::grpc();
    collector.received.lock().unwrap().reject_log_records = 2;
    // One batch: cut by the flush, not by the delay.
    let guard = init(
        &[],
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url()), ("OTEL_BLRP_SCHEDULE_DELAY", "60000".to_owned())],
    );
    emit();
    assert!(spanscope::flush());
    let after = spanscope::stats();
    drop(guard);
    assert_eq!(collector.received.lock().unwrap().logs.len(), 1, "one request");
    let exporter = after.exporters.iter().find(|e| e.signal == Signal::Logs).unwrap();
    assert_eq!(exporter.dropped_rejected, 2, "{exporter:?}");
    assert_eq!(after.log_records_dropped_rejected - before.log_records_dropped_rejected, 2);
    assert_eq!(exporter.exported, EMITTED - 2, "{exporter:?}");
}

#[test]
fn a_receiver_that_is_down_costs_the_application_nothing_and_its_records_are_counted() {
    let _serial = serial();
    let before = spanscope::stats();
    let addr = free_addr();
    let guard = init(
        &[],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{addr}")),
            ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "500".to_owned()),
            ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "12".to_owned()),
            ("SPANSCOPE_EXPORT_BACKLOG", "24".to_owned()),
            ("SPANSCOPE_SHUTDOWN_TIMEOUT", "2000".to_owned()),
        ],
    );
    emit();
    assert_a_down_backend_loses_only_what_it_counts(
        guard,
        &before,
        EMITTED,
        || {
            emit();
        },
        EMITTED,
    );
}

#[test]
fn the_logs_variables_win_over_the_generic_ones() {
    let _serial = serial();
    let collector = Collector::http(http::StatusCode::OK);
    let traces = Collector::grpc();
    let dead = free_addr();
    let guard = init(
        &[TracesExporter::Otlp],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{dead}")),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces.url()),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "30000".to_owned()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".to_owned()),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-signal=generic,x-tenant=acme".to_owned()),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "1".to_owned()),
            ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", format!("{}/custom/logs", collector.url())),
            ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/json".to_owned()),
            ("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "x-signal=own".to_owned()),
            ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "30000".to_owned()),
        ],
    );
    let lines = emit();
    assert!(spanscope::flush(), "flush");
    drop(guard);
    let received = collector.received.lock().unwrap();
    assert!(received.paths.iter().all(|p| p == "/custom/logs"), "the logs endpoint is used as given");
    let headers = &received.logs_headers;
    assert_eq!((headers["x-signal"].to_str().unwrap(), headers["x-tenant"].to_str().unwrap()), ("own", "acme"));
    assert_eq!(received.logs_json, received.logs.len(), "every request is OTLP/JSON");
    let spans = spans(&traces.received.lock().unwrap());
    check(&records(&received), &spans, &lines, "logs variables");
}

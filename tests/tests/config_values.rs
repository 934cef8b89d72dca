//! Configuration values that cannot work stop start-up, naming their variable, and a value the
//! standards give a meaning works: a value that is not UTF-8 in a child's real environment, an
//! OTLP timeout past what gRPC can carry, and OpenTelemetry's timeout 0 (no limit) against a
//! loopback collector.

use std::process::Command;

use spanscope::TracesExporter;
use spanscope_tests::collector::otlp::Collector;
use spanscope_tests::collector::{init, serial, shop};
use spanscope_tests::{fresh_dir, read_spans};

const MAIN: &str = env!("CARGO_BIN_EXE_fixture_main");

#[test]
#[cfg(unix)]
fn a_value_that_is_not_utf8_stops_start_up_naming_its_variable() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    // Taken as unset, either would do the opposite of what was meant: trace, to the local folder.
    for (name, value) in [("OTEL_SDK_DISABLED", &b"true\xff"[..]), ("OTEL_TRACES_EXPORTER", &b"none\xff"[..])] {
        let dir = fresh_dir("not-utf8");
        let output = Command::new(MAIN)
            .arg("ok")
            .env("SPANSCOPE_OUT_DIR", &dir)
            .env(name, OsStr::from_bytes(value))
            .output()
            .expect("run fixture");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{name}: {stderr}");
        assert!(stderr.contains(name) && stderr.contains("UTF-8"), "{stderr}");
        assert!(read_spans(&dir.join("traces.jsonl")).is_empty());
        assert!(!String::from_utf8_lossy(&output.stdout).contains("done"), "main did not run");
    }
}

#[test]
fn an_otlp_timeout_past_what_grpc_carries_stops_start_up() {
    let _serial = serial();
    // Accepted, it made tonic panic at the first export ("duration is unrealistically large").
    let config = spanscope::Config::new()
        .out_dir(fresh_dir("timeout"))
        .exporters([TracesExporter::Otlp])
        .var("OTEL_EXPORTER_OTLP_TIMEOUT", "400000000000000");
    let error = spanscope::try_init(config).expect_err("refused at start-up");
    assert!(error.to_string().contains("OTEL_EXPORTER_OTLP_TIMEOUT"), "{error}");
}

#[test]
fn an_otlp_timeout_of_zero_means_no_limit_and_spans_arrive_once() {
    let _serial = serial();
    let collector = Collector::grpc();
    let guard = init(
        TracesExporter::Otlp,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url()),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "0".to_owned()),
            ("SPANSCOPE_SHUTDOWN_TIMEOUT", "60000".to_owned()),
        ],
    );
    let before = spanscope::stats();
    shop::batch(2);
    // Read as "0 ms", every request timed out before its answer: the spans were never counted
    // delivered, and were sent again and again.
    assert!(spanscope::flush(), "delivered within the shutdown timeout");
    let after = spanscope::stats();
    assert_eq!(after.spans_exported - before.spans_exported, 3);
    assert_eq!(after.spans_retried - before.spans_retried, 0);
    assert_eq!(collector.span_count(), 3, "each span arrives once");
    drop(guard);
}

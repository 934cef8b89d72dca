//! What reaches standard error when backends misbehave: the text a backend sends back is shown
//! with every configured secret redacted (in each form the exporter sent it), escaped (it
//! neither breaks the line nor drives the terminal) and bounded; a configuration error never
//! shows a URL's user information. Each case runs a child process and reads its standard error.

use std::process::Command;

use http::StatusCode;
use spanscope_tests::fresh_dir;
use spanscope_tests::hostile::{self, FORGERY};
use tonic::Code;

const FIXTURE_EXPORT: &str = env!("CARGO_BIN_EXE_fixture_export");
const FIXTURE_MAIN: &str = env!("CARGO_BIN_EXE_fixture_main");

const TOKEN: &str = "s3cr3t-t0ken";
const API_KEY: &str = "k3y-0f-mine";
const PASSWORD: &str = "pa55w0rd";
/// `spanscope:pa55w0rd` in Base64: Pyroscope's `Authorization: Basic` credentials as sent.
const BASIC: &str = "c3BhbnNjb3BlOnBhNTV3MHJk";

/// The longest line spanscope writes (its `MAX_LINE`), with room for the marker of a cut.
const LONGEST_LINE: usize = 1024 + 64;

/// Runs `fixture` with `args` and `env`; returns whether it succeeded, and its standard error.
fn run(fixture: &str, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let output = Command::new(fixture)
        .args(args)
        .env("SPANSCOPE_OUT_DIR", fresh_dir("fixture"))
        .env("SPANSCOPE_PROFILER", "off")
        .env("OTEL_BSP_SCHEDULE_DELAY", "20")
        .env("SPANSCOPE_EXPORT_MAX_BACKOFF", "200")
        .env("SPANSCOPE_SHUTDOWN_TIMEOUT", "1000")
        .envs(env.iter().copied())
        .output()
        .expect("run the fixture");
    (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// Runs the exporting fixture for 1.5 s against a backend, with `busy` ms of CPU work before
/// each span; returns its standard error.
fn export(busy: &str, env: &[(&str, &str)]) -> String {
    let (succeeded, stderr) = run(FIXTURE_EXPORT, &["1500", busy], env);
    assert!(succeeded, "{stderr}");
    stderr
}

/// Asserts that `stderr` shows none of `secrets`, no control character and no forged line, and
/// that it shows the backend's text, escaped.
fn assert_safe(stderr: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!stderr.contains(secret), "{secret:?} shown:\n{stderr}");
    }
    assert!(!stderr.contains(|c: char| c.is_control() && c != '\n'), "a control character:\n{stderr:?}");
    assert!(!stderr.lines().any(|line| line.starts_with("spanscope: forged")), "a forged line:\n{stderr}");
    assert!(stderr.contains(&FORGERY.escape_debug().to_string()), "the backend's text, escaped:\n{stderr}");
}

#[test]
fn an_otlp_http_error_body_echoing_the_headers_shows_them_redacted_and_escaped() {
    let headers = format!("authorization=Bearer%20{TOKEN},x-api-key={API_KEY}");
    for (status, says) in
        [(StatusCode::BAD_REQUEST, "was rejected: HTTP 400 Bad Request"), (StatusCode::BAD_GATEWAY, "HTTP 502")]
    {
        let backend = hostile::echoing_http(status);
        let stderr = export(
            "0",
            &[
                ("OTEL_TRACES_EXPORTER", "otlp"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", &format!("http://{}", backend.addr)),
                ("OTEL_EXPORTER_OTLP_HEADERS", &headers),
            ],
        );
        assert_safe(&stderr, &[TOKEN, API_KEY]);
        assert!(stderr.contains(says), "{stderr}");
        for header in ["authorization", "x-api-key"] {
            assert!(stderr.contains(&format!("{header}: <redacted>\\n")), "{stderr}");
        }
    }
}

#[test]
fn a_pyroscope_error_body_echoing_basic_credentials_shows_them_redacted() {
    for status in [StatusCode::BAD_REQUEST, StatusCode::SERVICE_UNAVAILABLE] {
        let backend = hostile::echoing_http(status);
        let stderr = export(
            "5",
            &[
                ("OTEL_TRACES_EXPORTER", "none"),
                ("SPANSCOPE_PROFILER", "on"),
                ("SPANSCOPE_PROFILES_EXPORTER", "pyroscope"),
                ("SPANSCOPE_PROFILE_INTERVAL", "1"),
                ("PYROSCOPE_SERVER_ADDRESS", &format!("http://{}", backend.addr)),
                ("PYROSCOPE_BASIC_AUTH_USER", "spanscope"),
                ("PYROSCOPE_BASIC_AUTH_PASSWORD", PASSWORD),
            ],
        );
        assert_safe(&stderr, &[BASIC, PASSWORD]);
        assert!(stderr.contains(&format!("HTTP {status}")), "{stderr}");
        assert!(stderr.contains("authorization: <redacted>\\n"), "{stderr}");
    }
}

#[test]
fn an_otlp_grpc_status_echoing_the_token_shows_it_redacted_escaped_and_bounded() {
    let headers = format!("authorization=Bearer%20{TOKEN},x-api-key={API_KEY}");
    let echo = "refused authorization=<redacted> token=<redacted> x-api-key=<redacted> token=<redacted>";
    for (code, padding) in [(Code::Unauthenticated, 0), (Code::Unavailable, 8000)] {
        let backend = hostile::refusing_otlp_grpc(code, padding);
        let stderr = export(
            "0",
            &[
                ("OTEL_TRACES_EXPORTER", "otlp"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", &format!("http://{}", backend.addr)),
                ("OTEL_EXPORTER_OTLP_HEADERS", &headers),
            ],
        );
        assert_safe(&stderr, &[TOKEN, API_KEY]);
        assert!(stderr.contains(&format!("{code:?}: {echo}")), "{stderr}");
        if code == Code::Unauthenticated {
            assert!(stderr.contains("the backend refused our credentials (Unauthenticated: refused"), "{stderr}");
        } else {
            // The message is cut in its middle: the line keeps what spanscope does about it.
            let line = stderr.lines().find(|line| line.contains("retrying with backoff")).expect(&stderr);
            assert!(line.contains(" bytes cut ...]") && line.len() <= LONGEST_LINE, "{line}");
        }
        assert!(stderr.lines().all(|line| line.len() <= LONGEST_LINE), "{stderr}");
    }
}

#[test]
fn skywalking_management_failures_echoing_the_token_show_it_redacted() {
    let backend = hostile::refusing_skywalking_management(Code::Internal);
    let stderr = export(
        "0",
        &[
            ("OTEL_TRACES_EXPORTER", "skywalking"),
            ("SW_AGENT_COLLECTOR_BACKEND_SERVICES", &backend.addr.to_string()),
            ("SW_AGENT_AUTHENTICATION", TOKEN),
            ("SW_AGENT_COLLECTOR_HEARTBEAT_PERIOD", "1"),
        ],
    );
    assert_safe(&stderr, &[TOKEN]);
    let says = "spanscope: skywalking management: Internal: refused authentication=<redacted> token=<redacted>";
    assert!(stderr.contains(says), "{stderr}");
}

#[test]
fn configuration_errors_never_show_a_urls_user_information() {
    for (fixture, arg, exporter, (variable, value)) in [
        (FIXTURE_EXPORT, "0", "otlp", ("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://user:pa55w0rd@collector:4317")),
        (FIXTURE_MAIN, "ok", "otlp", ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://user:pa55w0rd@coll ector:4317")),
        // A password holding a `/` once made the rest of the URL a path, and the URL valid.
        (FIXTURE_EXPORT, "0", "otlp", ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://user:pa55/w0rd@collector:4317")),
        (
            FIXTURE_EXPORT,
            "0",
            "skywalking",
            ("SW_AGENT_COLLECTOR_BACKEND_SERVICES", "oap:1,grpc://user:pa55w0rd@oap:2"),
        ),
        (FIXTURE_MAIN, "ok", "datadog", ("DD_TRACE_AGENT_URL", "user:pa55w0rd@agent:8126")),
    ] {
        let (succeeded, stderr) = run(fixture, &[arg], &[("OTEL_TRACES_EXPORTER", exporter), (variable, value)]);
        assert!(!succeeded, "{value} accepted:\n{stderr}");
        assert!(stderr.contains(&format!("spanscope: invalid {variable}")), "{stderr}");
        assert!(!stderr.contains("pa55") && !stderr.contains("w0rd"), "{stderr}");
    }
}

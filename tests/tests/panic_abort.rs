//! A panic in a program built with `panic = "abort"`: nothing unwinds, so the request that
//! panicked is exported by the panic's abort itself: its entry span and the span that panicked
//! failed with the panic's message, the child that had finished as it was.
//!
//! The program is `src/bin/fixture_panic_abort.rs`, built here with `-C panic=abort` given to
//! it alone (`cargo rustc`): spanscope keeps the `unwind` strategy it was compiled with, so
//! `cfg!(panic = "abort")` is false inside it and the abort must be recognised at run time. The
//! build goes to the target folder and profile this test was built in, so it reuses their
//! dependencies; it needs no step before `cargo test`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use spanscope_tests::{fresh_dir, read_spans, ExportedSpan, SpanSet};

/// The fixture built with `-C panic=abort`, once per run of this test binary.
fn fixture() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        // `<target folder>/<profile folder>/fixture_panic_abort`, as cargo built it for tests.
        let unwinding = Path::new(env!("CARGO_BIN_EXE_fixture_panic_abort"));
        let profile_dir = unwinding.parent().expect("a profile folder");
        let target_dir = profile_dir.parent().expect("a target folder");
        let profile = match profile_dir.file_name().and_then(|name| name.to_str()) {
            Some("debug") | None => "dev",
            Some(name) => name,
        };
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let output = Command::new(cargo)
            .args(["rustc", "--message-format=json", "--bin", "fixture_panic_abort", "--profile", profile])
            .arg("--manifest-path")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .arg("--target-dir")
            .arg(target_dir)
            .args(["--", "-C", "panic=abort"])
            .output()
            .expect("run cargo");
        assert!(output.status.success(), "cargo rustc failed:\n{}", String::from_utf8_lossy(&output.stderr));
        let built = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|message| message["target"]["name"] == "fixture_panic_abort")
            .find_map(|message| message["executable"].as_str().map(PathBuf::from))
            .expect("cargo names the executable it built");
        // Out of cargo's way: a later `cargo test` builds the unwinding fixture in its place.
        let copy = target_dir.join("fixture_panic_abort-with-panic-abort");
        std::fs::copy(&built, &copy).expect("copy the fixture");
        copy
    })
}

fn run(mode: &str) -> (Output, Vec<ExportedSpan>) {
    let dir = fresh_dir(mode);
    let output = Command::new(fixture())
        .arg(mode)
        .env("SPANSCOPE_OUT_DIR", &dir)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run the fixture");
    (output, read_spans(&dir.join("traces.jsonl")))
}

const MESSAGE: &str = "panicked at tests/src/bin/fixture_panic_abort.rs";

fn assert_aborted(output: &Output) -> String {
    use std::os::unix::process::ExitStatusExt as _;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.signal(), Some(libc::SIGABRT), "the process aborts: {stderr}");
    assert!(stderr.contains("fixture abort: 42"), "the panic's own message is printed: {stderr}");
    stderr
}

fn assert_failed_by_the_panic(span: &ExportedSpan) {
    assert_eq!(span.status_code, 2, "{} failed", span.name);
    let message = span.status_message.as_deref().unwrap_or_default();
    assert!(message.starts_with(MESSAGE) && message.ends_with(": fixture abort: 42"), "{}: {message}", span.name);
    let exception = span.events.iter().find(|(name, _)| name == "exception").expect("an exception event");
    assert_eq!(exception.1["exception.type"], "panic");
}

#[test]
fn the_panicking_request_is_exported_before_the_abort() {
    let (output, spans) = run("sync");
    let stderr = assert_aborted(&output);
    assert_eq!(spans.len(), 3, "{stderr}");
    let request = spans.named("request");
    let finished = spans.named("finished");
    let explode = spans.named("explode");
    assert_failed_by_the_panic(request);
    assert_failed_by_the_panic(explode);
    assert_eq!(finished.status_code, 0, "a child that finished keeps its outcome");
    finished.assert_child_of(request);
    explode.assert_child_of(request);
    assert!(finished.end <= explode.start && explode.end <= request.end);
    assert!(
        stderr.contains("spanscope: the panic aborts the process: exported the panicking thread's 1 open segment (3 spans, 2 of them ended as failed); flushed"),
        "{stderr}"
    );
}

#[test]
fn segments_installed_one_inside_another_are_all_exported() {
    let (output, spans) = run("async");
    let stderr = assert_aborted(&output);
    assert_eq!(spans.len(), 4, "{stderr}");
    let request = spans.named("async request");
    let finished = spans.named("async finished");
    let nested = spans.named("nested");
    let explode = spans.named("explode");
    for span in [request, nested, explode] {
        assert_failed_by_the_panic(span);
    }
    assert_eq!(finished.status_code, 0);
    finished.assert_child_of(request);
    explode.assert_child_of(nested);
    // `nested` begins the second segment, continuing the request's context.
    assert_eq!(nested.parent_span_id.as_deref(), Some(request.span_id.as_str()));
    assert_eq!(nested.trace_id, request.trace_id);
    assert!(
        stderr.contains("exported the panicking thread's 2 open segments (4 spans, 3 of them ended as failed)"),
        "{stderr}"
    );
}

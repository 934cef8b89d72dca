//! `#[spanscope::main]` end to end, in child processes: flush at return, `Result` mains, panics,
//! environment overrides, bad configuration, the console exporter, async mains.

use std::process::{Command, Output};

use spanscope_tests::{fresh_dir, read_spans, SpanSet};

fn run(binary: &str, arg: &str, env: &[(&str, &str)]) -> (Output, Vec<spanscope_tests::ExportedSpan>) {
    let dir = fresh_dir("main");
    let mut command = Command::new(binary);
    command.arg(arg).env("SPANSCOPE_OUT_DIR", &dir);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("run fixture");
    let spans = read_spans(&dir.join("traces.jsonl"));
    (output, spans)
}

const MAIN: &str = env!("CARGO_BIN_EXE_fixture_main");
const ASYNC_MAIN: &str = env!("CARGO_BIN_EXE_fixture_async_main");

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn everything_is_flushed_when_main_returns() {
    let (output, spans) = run(MAIN, "ok", &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(spans.len(), 2);
    spans.named("step").assert_child_of(spans.named("job"));
    assert_eq!(spans[0].service, "fixture");
    let stderr = stderr(&output);
    assert!(stderr.contains("spanscope: wrote 2 spans of 1 trace to "), "{stderr}");
}

#[test]
fn a_result_main_keeps_its_error_and_its_spans() {
    let (output, spans) = run(MAIN, "err", &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("Error: \"job failed\""));
    assert_eq!(spans.named("job").status_message.as_deref(), Some("job failed"));
}

#[test]
fn a_panicking_main_still_writes_its_spans() {
    let (output, spans) = run(MAIN, "panic", &[]);
    assert_eq!(output.status.code(), Some(101));
    assert!(stderr(&output).contains("fixture panic"), "the previous panic hook still runs");
    let explode = spans.named("explode");
    assert_eq!(explode.status_code, 2);
    assert!(explode.status_message.as_deref().unwrap().contains("fixture panic"));
    explode.assert_child_of(spans.named("job"));
}

#[test]
fn environment_wins_over_macro_arguments() {
    let (output, spans) = run(MAIN, "ok", &[("OTEL_SERVICE_NAME", "renamed")]);
    assert!(output.status.success());
    assert!(spans.iter().all(|s| s.service == "renamed"));
}

#[test]
fn a_bad_value_stops_start_up_naming_the_variable() {
    let (output, spans) = run(MAIN, "ok", &[("OTEL_TRACES_SAMPLER", "sometimes")]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr(&output);
    assert!(stderr.contains("OTEL_TRACES_SAMPLER") && stderr.contains("sometimes"), "{stderr}");
    assert!(spans.is_empty());
    assert!(!String::from_utf8_lossy(&output.stdout).contains("done"), "main did not run");
}

#[test]
fn sdk_disabled_turns_everything_off() {
    let (output, spans) = run(MAIN, "ok", &[("OTEL_SDK_DISABLED", "true")]);
    assert!(output.status.success());
    assert!(spans.is_empty());
    assert!(!stderr(&output).contains("spanscope: wrote"));
}

#[test]
fn the_console_exporter_prints_each_trace_as_a_tree() {
    let (output, spans) = run(MAIN, "err", &[("OTEL_TRACES_EXPORTER", "console")]);
    assert!(spans.is_empty(), "only the console was asked for");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("trace ") && lines[0].ends_with(" · fixture"), "{stdout}");
    assert!(lines[1].starts_with("  job [entry] ") && lines[1].ends_with(" ms ERROR"), "{stdout}");
    assert!(lines[2].starts_with("    step [local] ") && lines[2].ends_with(" ms"), "{stdout}");
    assert_eq!(
        lines[3], "    · exception exception.type=alloc::string::String exception.message=job failed",
        "{stdout}"
    );
}

#[test]
fn an_async_main_runs_on_its_runtime_and_flushes() {
    let (output, spans) = run(ASYNC_MAIN, "", &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let job = spans.named("async job");
    let children: Vec<_> = spans.iter().filter(|s| s.name == "child").collect();
    assert_eq!(children.len(), 2);
    for child in children {
        child.assert_child_of(job);
    }
    assert!(spans.iter().all(|s| s.service == "fixture-async"));
}

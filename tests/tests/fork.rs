//! A child forked without `exec` has none of spanscope's threads: returning through its copy of
//! the guard it shuts down at once, whatever `SPANSCOPE_SHUTDOWN_TIMEOUT` is, and says exactly
//! what it dropped; the parent's own export goes on.

use std::process::Command;

use spanscope_tests::{fresh_dir, read_spans, SpanSet};

/// How long the fixture's parent waits for its child before killing it: far longer than the
/// child needs, far shorter than the shutdown timeout it would otherwise wait.
const HANG_BOUND_SECS: &str = "120";

#[test]
fn a_forked_child_shuts_down_at_once_and_counts_what_it_dropped() {
    let dir = fresh_dir("fork");
    let output = Command::new(env!("CARGO_BIN_EXE_fixture_fork"))
        .arg(HANG_BOUND_SECS)
        .env("SPANSCOPE_OUT_DIR", &dir)
        // An hour: a child waiting for the parent's reporter would outlast the hang bound.
        .env("SPANSCOPE_SHUTDOWN_TIMEOUT", "3600000")
        .output()
        .expect("run the fixture");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("child exited with 0"), "the child returned through its guard: {stdout}\n{stderr}");

    // The child's one line: which process, and the one span it ended and could not export.
    let child_lines: Vec<_> = stderr.lines().filter(|line| line.contains("without exec")).collect();
    assert_eq!(child_lines.len(), 1, "{stderr}");
    assert!(
        child_lines[0].ends_with(
            "and spanscope's threads run in the parent: nothing is recorded or exported here after the fork; \
             1 span open at the fork ended here and was dropped (counted in spans_dropped_shutdown)"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("did not finish"), "no shutdown waited for its deadline: {stderr}");

    // The parent's spans, and only those: each once.
    let spans = read_spans(&dir.join("traces.jsonl"));
    let names: Vec<_> = spans.iter().map(|span| span.name.as_str()).collect();
    assert_eq!(spans.len(), 2, "{names:?}");
    spans.named("request");
    spans.named("after the fork");
    assert!(stderr.contains("spanscope: wrote 2 spans of 2 traces to "), "{stderr}");
}

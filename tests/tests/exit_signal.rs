//! A `#[spanscope::main]` program ended by SIGINT, SIGTERM or SIGHUP first writes what it
//! buffered (spans still waiting for their batch, the profile window in progress) and then ends
//! by that signal; a program that handles the signal itself keeps it; a second signal ends a
//! stalled flush at once. Run as child processes, sent signals with `kill`.
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use spanscope_tests::profiles::all_samples;
use spanscope_tests::{fresh_dir, read_spans, SpanSet};

const FIXTURE: &str = env!("CARGO_BIN_EXE_fixture_signal");

/// Nothing reaches the output on its own while the tests run: a batch waits a minute, and so
/// does the profile window.
const HELD_BACK: [(&str, &str); 2] = [("OTEL_BSP_SCHEDULE_DELAY", "60000"), ("SPANSCOPE_PROFILE_INTERVAL", "60")];

struct Running {
    child: Child,
    stderr: BufReader<ChildStderr>,
    dir: PathBuf,
}

/// Starts the fixture and waits until it has served its request.
fn start(arg: &str, env: &[(&str, &str)]) -> Running {
    let dir = fresh_dir("signal");
    let mut child = Command::new(FIXTURE)
        .arg(arg)
        .env("SPANSCOPE_OUT_DIR", &dir)
        .envs(HELD_BACK.iter().chain(env).copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the fixture");
    let mut ready = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut ready).unwrap();
    assert_eq!(ready, "ready\n", "the fixture did not start");
    let stderr = BufReader::new(child.stderr.take().unwrap());
    Running { child, stderr, dir }
}

fn send(child: &Child, signal: &str) {
    let status = Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()).status().unwrap();
    assert!(status.success(), "kill -{signal}");
}

impl Running {
    /// Waits for the process to end (killing it after a generous minute, which fails the test),
    /// and returns how it ended, with its standard error.
    fn end(mut self) -> (ExitStatus, String, PathBuf) {
        let give_up = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > give_up {
                let _ = self.child.kill();
                panic!("the fixture did not end");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stderr = String::new();
        self.stderr.read_to_string(&mut stderr).unwrap();
        (status, stderr, self.dir)
    }
}

#[test]
fn each_ending_signal_writes_the_spans_and_the_profile_then_ends_the_process_by_it() {
    for (signal, number) in [("INT", 2), ("TERM", 15), ("HUP", 1)] {
        let running = start("", &[]);
        send(&running.child, signal);
        let (status, stderr, dir) = running.end();
        assert_eq!(status.signal(), Some(number), "ended by SIG{signal}: {status:?}\n{stderr}");
        assert!(stderr.contains(&format!("spanscope: SIG{signal}: flushing before exit")), "{stderr}");

        let spans = read_spans(&dir.join("traces.jsonl"));
        assert_eq!(spans.len(), 2, "SIG{signal}: {stderr}");
        spans.named("price").assert_child_of(spans.named("request"));

        let samples = all_samples(&dir);
        let priced = samples.iter().filter(|s| s.has("price") && s.label("tenant") == Some("acme")).count();
        assert!(priced > 0, "SIG{signal}: no sample of `price` tagged with its tenant in {} samples", samples.len());
    }
}

#[test]
fn a_program_that_handles_the_signal_itself_keeps_it() {
    let mut running = start("own-handler", &[]);
    send(&running.child, "INT");
    let mut stdout = String::new();
    running.child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    let (status, stderr, dir) = running.end();
    assert!(status.success(), "{status:?}\n{stderr}");
    assert_eq!(stdout, "stopped by the program\n");
    assert!(!stderr.contains("flushing before exit"), "{stderr}");
    // Written by the guard when `main` returned.
    assert_eq!(read_spans(&dir.join("traces.jsonl")).len(), 2, "{stderr}");
}

#[test]
fn a_second_signal_ends_a_stalled_flush_at_once() {
    // A collector that takes the connection and never answers: the flush waits for the export
    // timeout, a minute.
    let collector = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", collector.local_addr().unwrap());
    let mut running = start(
        "",
        &[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "60000"),
            ("SPANSCOPE_SHUTDOWN_TIMEOUT", "60000"),
        ],
    );
    send(&running.child, "TERM");
    let mut line = String::new();
    running.stderr.read_line(&mut line).unwrap();
    assert_eq!(line, "spanscope: SIGTERM: flushing before exit (again to exit at once)\n");
    // Still flushing into the collector that does not answer.
    let (_connection, _) = collector.accept().unwrap();
    assert!(running.child.try_wait().unwrap().is_none(), "the flush did not wait for the collector");

    send(&running.child, "TERM");
    let (status, stderr, _) = running.end();
    assert_eq!(status.signal(), Some(15), "{status:?}\n{stderr}");
}

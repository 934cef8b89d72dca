//! A `#[spanscope::main]` program ended by SIGINT, SIGTERM or SIGHUP first writes what it
//! buffered (spans still waiting for their batch, the profile window in progress) and then ends
//! by that signal; a program that handles the signal itself keeps it; a second signal ends a
//! stalled flush at once. Run as child processes, sent signals with `kill`.
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use spanscope_tests::profiles::all_samples;
use spanscope_tests::{fresh_dir, read_spans, SpanSet};

const FIXTURE: &str = env!("CARGO_BIN_EXE_fixture_signal");

/// Nothing reaches the output on its own while the tests run: a batch waits a minute, and so
/// does the profile window.
const HELD_BACK: [(&str, &str); 2] = [("OTEL_BSP_SCHEDULE_DELAY", "60000"), ("SPANSCOPE_PROFILE_INTERVAL", "60")];

/// The fixture, killed if a test fails before it ended.
struct Running {
    child: Child,
    /// Its standard error, unless a test closed it.
    stderr: Option<BufReader<ChildStderr>>,
    dir: PathBuf,
}

/// Starts the fixture and waits until it has served its request.
fn start(arg: &str, env: &[(&str, &str)]) -> Running {
    start_with(fixture(), arg, env)
}

/// The fixture, with the default action for the signals these tests send and none of them
/// blocked, whatever this test process inherited: a shell's background job ignores SIGINT, and
/// `nohup` SIGHUP, and a child inherits both across `exec`.
fn fixture() -> Command {
    let mut command = Command::new(FIXTURE);
    // SAFETY: `signal`, `sigemptyset` and `sigprocmask` are async-signal-safe, as what runs
    // between `fork` and `exec` must be; the set is initialised by `sigemptyset` before use.
    unsafe {
        command.pre_exec(|| {
            for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::signal(signal, libc::SIG_DFL);
            }
            let mut none: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut none);
            libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
            Ok(())
        })
    };
    command
}

fn start_with(mut command: Command, arg: &str, env: &[(&str, &str)]) -> Running {
    let dir = fresh_dir("signal");
    let mut child = command
        .arg(arg)
        .env("SPANSCOPE_OUT_DIR", &dir)
        .envs(HELD_BACK.iter().chain(env).copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the fixture");
    let stderr = child.stderr.take().map(BufReader::new);
    let mut running = Running { child, stderr, dir };
    let mut ready = String::new();
    BufReader::new(running.child.stdout.as_mut().unwrap()).read_line(&mut ready).unwrap();
    assert_eq!(ready, "ready\n", "the fixture did not start");
    running
}

fn send(child: &Child, signal: &str) {
    let status = Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()).status().unwrap();
    assert!(status.success(), "kill -{signal}");
}

impl Running {
    /// Waits for the process to end, failing the test if it has not within `limit`, and
    /// returns how it ended, with the rest of its standard error.
    fn end(&mut self, limit: Duration) -> (ExitStatus, String) {
        let give_up = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break Some(status);
            }
            if Instant::now() > give_up {
                self.child.kill().unwrap();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stderr = String::new();
        if let Some(pipe) = &mut self.stderr {
            pipe.read_to_string(&mut stderr).unwrap();
        }
        let status =
            status.unwrap_or_else(|| panic!("the fixture did not end within {limit:?}; its stderr:\n{stderr}"));
        (status, stderr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Long enough for anything the fixture does on a signal, on a loaded machine: the tests that
/// must see it end sooner than a flush would say so with their own limit.
const ENDS: Duration = Duration::from_secs(60);

#[test]
fn each_ending_signal_writes_the_spans_and_the_profile_then_ends_the_process_by_it() {
    for (signal, number) in [("INT", 2), ("TERM", 15), ("HUP", 1)] {
        let mut running = start("", &[]);
        send(&running.child, signal);
        let (status, stderr) = running.end(ENDS);
        assert_eq!(status.signal(), Some(number), "ended by SIG{signal}: {status:?}\n{stderr}");
        assert!(stderr.contains(&format!("spanscope: SIG{signal}: flushing before exit")), "{stderr}");

        let spans = read_spans(&running.dir.join("traces.jsonl"));
        assert_eq!(spans.len(), 2, "SIG{signal}: {stderr}");
        spans.named("price").assert_child_of(spans.named("request"));

        if !cfg!(target_arch = "x86_64") {
            continue; // the CPU profiler's platform
        }
        let samples = all_samples(&running.dir);
        let priced = samples.iter().filter(|s| s.has("price") && s.label("tenant") == Some("acme")).count();
        assert!(priced > 0, "SIG{signal}: no sample of `price` tagged with its tenant in {} samples", samples.len());
    }
}

#[test]
fn a_closed_standard_error_neither_keeps_the_process_alive_nor_loses_spans() {
    let mut running = start("", &[]);
    // The reader of the fixture's standard error goes away, as `tee` does on Ctrl-C: every line
    // written to it from here fails (Rust programs ignore SIGPIPE, so the write returns EPIPE).
    running.stderr = None;
    send(&running.child, "TERM");
    let (status, _) = running.end(ENDS);
    assert_eq!(status.signal(), Some(15), "{status:?}");
    assert_eq!(read_spans(&running.dir.join("traces.jsonl")).len(), 2);
}

#[test]
fn a_program_that_handles_the_signal_itself_keeps_it() {
    let mut running = start("own-handler", &[]);
    send(&running.child, "INT");
    let mut stdout = String::new();
    running.child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    let (status, stderr) = running.end(ENDS);
    assert!(status.success(), "{status:?}\n{stderr}");
    assert_eq!(stdout, "stopped by the program\n");
    assert!(!stderr.contains("flushing before exit"), "{stderr}");
    // Written by the guard when `main` returned.
    assert_eq!(read_spans(&running.dir.join("traces.jsonl")).len(), 2, "{stderr}");
}

#[test]
fn a_program_that_takes_the_signal_with_sigwait_gets_it() {
    // The signal comes while the program blocks it and is not yet waiting for it: it stays
    // pending only if spanscope's threads block it too, else one of them takes it.
    let mut running = start("sigwait", &[]);
    send(&running.child, "TERM");
    std::thread::sleep(Duration::from_millis(100));
    // Now the program waits for it.
    let _ = running.child.stdin.take().unwrap().write_all(b"go\n");
    let mut stdout = String::new();
    running.child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    let (status, stderr) = running.end(ENDS);
    assert!(status.success(), "{status:?}\n{stderr}");
    assert_eq!(stdout, "stopped by the program\n");
    assert_eq!(read_spans(&running.dir.join("traces.jsonl")).len(), 2, "{stderr}");
}

#[test]
fn an_ignored_signal_stays_ignored() {
    let mut command = fixture();
    // SAFETY: as in `fixture`; an ignored signal stays ignored across `exec`, as `nohup` relies
    // on.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            Ok(())
        })
    };
    let mut running = start_with(command, "", &[]);
    send(&running.child, "HUP");
    // Had spanscope taken SIGHUP, its shutdown would have ended the process by it by now.
    std::thread::sleep(Duration::from_millis(500));
    send(&running.child, "TERM");
    let (status, stderr) = running.end(ENDS);
    assert_eq!(status.signal(), Some(15), "{status:?}\n{stderr}");
    assert!(!stderr.contains("SIGHUP"), "{stderr}");
}

#[test]
fn a_second_signal_ends_a_stalled_flush_at_once() {
    // A collector that takes the connection and never answers: the flush waits for the export
    // timeout, ten minutes.
    let collector = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", collector.local_addr().unwrap());
    let mut running = start(
        "",
        &[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "600000"),
            ("SPANSCOPE_SHUTDOWN_TIMEOUT", "600000"),
        ],
    );
    send(&running.child, "TERM");
    let mut line = String::new();
    running.stderr.as_mut().unwrap().read_line(&mut line).unwrap();
    assert_eq!(line, "spanscope: SIGTERM: flushing before exit (again to exit at once)\n");
    // Still flushing into the collector that does not answer.
    collector.set_nonblocking(true).unwrap();
    let connected = Instant::now() + ENDS;
    while collector.accept().is_err() {
        assert!(Instant::now() < connected, "the exporter never connected");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(running.child.try_wait().unwrap().is_none(), "the flush did not wait for the collector");

    // Past the window in which the same signal counts as the first one sent twice.
    std::thread::sleep(Duration::from_millis(300));
    send(&running.child, "TERM");
    // Well before the flush's ten minutes.
    let (status, stderr) = running.end(ENDS);
    assert_eq!(status.signal(), Some(15), "{status:?}\n{stderr}");
}

#[test]
fn one_stop_sent_to_the_process_and_its_group_at_once_still_flushes() {
    let mut running = start("", &[]);
    let pid = libc::pid_t::try_from(running.child.id()).unwrap();
    // As GNU `timeout` does: the signal to the process, then at once to its process group
    // (here only the process, which is the same delivery twice).
    for _ in 0..2 {
        // SAFETY: `kill` with a valid pid and signal number.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    }
    let (status, stderr) = running.end(ENDS);
    assert_eq!(status.signal(), Some(15), "{status:?}\n{stderr}");
    let spans = read_spans(&running.dir.join("traces.jsonl"));
    assert_eq!(spans.len(), 2, "the flush went on: {stderr}");
}

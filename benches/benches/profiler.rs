//! The continuous profiler against pprof-rs and pyroscope-rs, side by side in one run.
//!
//! - Overhead: the same CPU-bound work (two threads, fixed amount) with no profiler, spanscope at
//!   100 Hz, pprof-rs at 100 Hz and pyroscope-rs at 100 Hz; each configuration runs in a fresh
//!   child process (the three install their own SIGPROF handlers), alternating, several times;
//!   the figure is the median process CPU time as a ratio to no profiler.
//! - Tag cost: `#[profiled]` push+pop against pyroscope-rs's thread tag add+remove, both with
//!   their profiler running.
//! - Memory: the sampler's resident memory at defaults: resident set after the work with
//!   spanscope's profiler on, minus the same with `SPANSCOPE_PROFILER=off`.
//!
//! pprof-rs and pyroscope-rs's vendored copy of it cannot link into one binary (both define
//! `perf_signal_handler`), so each peer is a feature and one invocation measures one peer beside
//! spanscope and no profiler, each ratio to the no-profiler runs of the same invocation:
//! `cargo bench -p spanscope-benches --bench profiler` (`PROFILER_BENCH_REPS`, default 5) runs
//! none / spanscope / pyroscope-rs (the default feature `peer-pyroscope-rs`);
//! `--no-default-features --features peer-pprof-rs` runs none / spanscope / pprof-rs. The tag cost
//! against pyroscope-rs is measured in the first only.

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use spanscope::profiled;

spanscope::tags! {
    pub route: &'static str = "http.route",
}

#[cfg(all(feature = "peer-pprof-rs", feature = "peer-pyroscope-rs"))]
compile_error!(
    "pprof-rs and pyroscope-rs cannot link into one binary (both define `perf_signal_handler`): \
     measure pprof-rs with `--no-default-features --features peer-pprof-rs`"
);

/// The configurations one invocation measures: no profiler, spanscope, and the peer it links.
const MODES: &[&str] = &[
    "none",
    "spanscope",
    #[cfg(feature = "peer-pprof-rs")]
    "pprof-rs",
    #[cfg(feature = "peer-pyroscope-rs")]
    "pyroscope-rs",
];
/// Work per thread: recursive calls (a real stack to walk) and arithmetic.
const ROUNDS: u64 = 3000;

#[inline(never)]
fn fib(n: u64) -> u64 {
    if n < 2 {
        n
    } else {
        black_box(fib(n - 1)) + fib(n - 2)
    }
}

fn workload() {
    let threads: Vec<_> = (0..2)
        .map(|t| std::thread::spawn(move || (0..ROUNDS).map(|r| fib(black_box(24 + (r + t) % 3))).sum::<u64>()))
        .collect();
    for thread in threads {
        black_box(thread.join().unwrap());
    }
}

fn process_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is valid for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn resident_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64 / 1024
}

#[cfg(feature = "peer-pyroscope-rs")]
fn pyroscope_agent() -> pyroscope::PyroscopeAgent<pyroscope::pyroscope::PyroscopeAgentRunning> {
    use pyroscope::backend::{pprof_backend, BackendConfig, PprofConfig};
    pyroscope::pyroscope::PyroscopeAgentBuilder::new(
        "http://127.0.0.1:9",
        "bench",
        100,
        "pyroscope-rs",
        "2",
        pprof_backend(PprofConfig { sample_rate: 100 }, BackendConfig::default()),
    )
    .build()
    .expect("pyroscope agent")
    .start()
    .expect("pyroscope agent start")
}

fn spanscope_guard(profiler: bool) -> spanscope::Guard {
    let dir = std::env::temp_dir().join(format!("spanscope-bench-{}", std::process::id()));
    spanscope::init(
        spanscope::Config::new()
            .service_name("bench")
            .out_dir(&dir)
            .exporters([])
            .profiler(spanscope::profiler::ProfilerConfig::new().enabled(profiler)),
    )
}

/// One measured run in this (child) process; prints `RESULT <cpu ns> <wall ns> <rss KiB>`.
fn child(mode: &str) {
    enum Running {
        None,
        Spanscope(spanscope::Guard),
        #[cfg(feature = "peer-pprof-rs")]
        Pprof(pprof::ProfilerGuard<'static>),
        #[cfg(feature = "peer-pyroscope-rs")]
        Pyroscope(Box<pyroscope::PyroscopeAgent<pyroscope::pyroscope::PyroscopeAgentRunning>>),
    }
    let running = match mode {
        "none" => Running::None,
        "spanscope" => Running::Spanscope(spanscope_guard(true)),
        "spanscope-off" => Running::Spanscope(spanscope_guard(false)),
        #[cfg(feature = "peer-pprof-rs")]
        "pprof-rs" => Running::Pprof(pprof::ProfilerGuard::new(100).expect("pprof-rs")),
        #[cfg(feature = "peer-pyroscope-rs")]
        "pyroscope-rs" => Running::Pyroscope(Box::new(pyroscope_agent())),
        "tags" => return tag_costs(),
        other => panic!("unknown mode {other}"),
    };
    let (cpu, wall) = (process_cpu(), Instant::now());
    workload();
    let (cpu, wall, rss) = (process_cpu() - cpu, wall.elapsed(), resident_kib());
    match running {
        // Not stopped: pyroscope-rs's `stop` can wait forever on its condvar (seen here with its
        // uploader pointed at a closed port); the process exit ends the agent instead.
        #[cfg(feature = "peer-pyroscope-rs")]
        Running::Pyroscope(agent) => std::mem::forget(agent),
        #[cfg(feature = "peer-pprof-rs")]
        Running::Pprof(guard) => drop(black_box(guard.report().build())),
        Running::Spanscope(guard) => drop(guard),
        Running::None => {}
    }
    println!("RESULT {} {} {rss}", cpu.as_nanos(), wall.as_nanos());
}

#[profiled(route = "checkout")]
#[inline(never)]
fn tagged(x: u64) -> u64 {
    black_box(x)
}

fn tag_costs() {
    let guard = spanscope_guard(true);
    let n = 10_000_000u64;
    let start = Instant::now();
    for i in 0..n {
        black_box(tagged(black_box(i)));
    }
    let ours = start.elapsed().as_nanos() as f64 / n as f64;
    drop(guard);
    println!("TAGS {ours:.2} {}", pyroscope_tag_cost().map_or_else(|| "-".to_owned(), |ns| format!("{ns:.0}")));
}

/// pyroscope-rs's thread tag add+remove, ns, with its agent running.
#[cfg(feature = "peer-pyroscope-rs")]
fn pyroscope_tag_cost() -> Option<f64> {
    let agent = pyroscope_agent();
    let (add, remove) = agent.tag_wrapper();
    let n = 200u32;
    let start = Instant::now();
    for _ in 0..n {
        fib(black_box(14));
        add("http.route".to_owned(), "checkout".to_owned()).expect("add");
        remove("http.route".to_owned(), "checkout".to_owned()).expect("remove");
    }
    let theirs = start.elapsed().as_nanos() as f64 / f64::from(n);
    // Not stopped, as in `child`.
    std::mem::forget(agent);
    Some(theirs)
}

#[cfg(not(feature = "peer-pyroscope-rs"))]
fn pyroscope_tag_cost() -> Option<f64> {
    None
}

fn run_child(mode: &str) -> String {
    let output = Command::new(std::env::current_exe().expect("own path"))
        .env("PROFILER_BENCH_MODE", mode)
        .env_remove("SPANSCOPE_PROFILER")
        .output()
        .expect("child runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{mode} failed: {}", String::from_utf8_lossy(&output.stderr));
    stdout
        .lines()
        .find(|l| l.starts_with("RESULT") || l.starts_with("TAGS"))
        .unwrap_or_else(|| panic!("{mode}: {stdout}"))
        .to_owned()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn field(line: &str, index: usize) -> f64 {
    line.split_whitespace().nth(index).and_then(|v| v.parse().ok()).expect("a number")
}

fn main() {
    if let Ok(mode) = std::env::var("PROFILER_BENCH_MODE") {
        return child(&mode);
    }
    // `cargo bench` passes `--bench`; any other argument filters nothing here.
    let reps: usize = std::env::var("PROFILER_BENCH_REPS").ok().and_then(|r| r.parse().ok()).unwrap_or(5);
    let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); MODES.len()];
    let mut rss_on = Vec::new();
    let mut rss_off = Vec::new();
    for _ in 0..reps {
        for (i, mode) in MODES.iter().enumerate() {
            let line = run_child(mode);
            cpu[i].push(field(&line, 1));
            if *mode == "spanscope" {
                rss_on.push(field(&line, 3));
            }
        }
        rss_off.push(field(&run_child("spanscope-off"), 3));
    }
    let base = median(cpu[0].clone());
    println!("\nCPU-bound work on 2 threads, median of {reps} runs (process CPU time), ratios to this invocation's own no-profiler runs:\n");
    println!("| profiler | CPU time | ratio to none | overhead |");
    println!("| --- | --- | --- | --- |");
    for (i, mode) in MODES.iter().enumerate() {
        let m = median(cpu[i].clone());
        println!("| {mode} (100 Hz) | {:.3} s | {:.4} | {:+.2}% |", m / 1e9, m / base, (m / base - 1.0) * 100.0);
    }
    let tags = run_child("tags");
    let ours = field(&tags, 1);
    println!("\n| tag change | cost |");
    println!("| --- | --- |");
    println!("| spanscope `#[profiled]` push+pop | {ours:.2} ns |");
    if let Some(theirs) = tags.split_whitespace().nth(2).and_then(|v| v.parse::<f64>().ok()) {
        println!("| pyroscope-rs thread tag add+remove | {:.1} µs |", theirs / 1e3);
        println!("| ratio | {:.0}× |", theirs / ours);
    }
    let (on, off) = (median(rss_on), median(rss_off));
    println!(
        "\nSampler resident memory at defaults: {:.2} MiB ({on:.0} KiB with the profiler, {off:.0} KiB without)",
        (on - off) / 1024.0
    );
}

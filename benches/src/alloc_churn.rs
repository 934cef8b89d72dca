//! The allocation overhead run's workload, shared by the `alloc-churn-*` bins (each includes this
//! file with `#[path]`, this crate having no library). A binary has one global allocator, so each
//! allocator measured is a bin of its own: `system`, `profiled` (spanscope's `Profiled<System>`),
//! `jemalloc`, `jemalloc-prof` (with pyroscope-rs's jemalloc backend) and `dhat`. The
//! `alloc-overhead` bin runs them and compares their CPU times.
//!
//! The work: two threads each make, grow and drop small `String`s, `Vec`s and `Box`es for a fixed
//! number of rounds, keeping a ring of recent strings alive so that a free does not simply follow
//! its allocation. A round allocates about 390 bytes in 7 allocations of 16 to 256 bytes.
//!
//! Command line: `[--init] [--scale N]`. `--init` runs the work under `spanscope::init` (defaults
//! and the environment, output to a fresh temporary folder, removed at the end); `--scale N` does
//! 1/N of the rounds (for dhat, whose every allocation takes a backtrace, and for callgrind). The bin prints one
//! line, `WORK <cpu ns> <wall ns> <alloc profiles> <rounds>`: the process CPU time (every
//! thread's, a profiler's included) and the wall time from the start of the work to its end, how
//! many `alloc-*.pb.gz` files spanscope wrote (0 without `--init`), and the rounds done (both
//! threads').

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Rounds per thread at scale 1: about half a second of CPU per thread with the C library's malloc
/// here, so that the runs compared are close together in time.
const ROUNDS: u64 = 1_000_000;
/// Strings each thread keeps alive, the oldest dropped as each new one comes.
const RING: usize = 256;

/// A folder of this process's own under the temporary folder, for a profiler's output.
pub fn scratch_dir() -> PathBuf {
    std::env::temp_dir().join(format!("alloc-churn-{}", std::process::id()))
}

/// Runs the work as the command line asks and prints its `WORK` line.
pub fn main() {
    let mut init = false;
    let mut scale = 1;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--init" => init = true,
            "--scale" => scale = args.next().and_then(|n| n.parse().ok()).filter(|&n| n > 0).expect("--scale N, N > 0"),
            other => panic!("unknown argument `{other}` (expected `--init`, `--scale N`)"),
        }
    }
    let dir = scratch_dir();
    let guard = init.then(|| spanscope::init(spanscope::Config::new().service_name("alloc-churn").out_dir(&dir)));
    let (cpu, wall) = (process_cpu(), Instant::now());
    let rounds = ROUNDS / scale;
    let threads: Vec<_> = (0..2).map(|t| std::thread::spawn(move || churn(t, rounds))).collect();
    for thread in threads {
        black_box(thread.join().expect("churn thread"));
    }
    let (cpu, wall) = (process_cpu() - cpu, wall.elapsed());
    drop(guard);
    let profiles = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_name().to_str().is_some_and(|n| n.starts_with("alloc-") && n.ends_with(".pb.gz")))
                .count()
        })
        .unwrap_or(0);
    // The folder is this process's own, and absent when nothing was written.
    let _ = std::fs::remove_dir_all(&dir);
    println!("WORK {} {} {profiles} {}", cpu.as_nanos(), wall.as_nanos(), 2 * rounds);
}

/// One thread's rounds: what a request handler's bookkeeping allocates.
fn churn(thread: u64, rounds: u64) -> usize {
    let mut ring: Vec<String> = vec![String::new(); RING];
    let mut total = 0;
    for round in 0..rounds {
        let mut name = format!("item-{thread}-{round}");
        name.push_str(if round % 3 == 0 { "/checkout/confirmed" } else { "/cart" });
        let mut ids: Vec<u32> = Vec::new();
        for id in 0..(round % 64) as u32 {
            ids.push(black_box(id));
        }
        let boxed = Box::new([round; 4]);
        total += name.len() + ids.len() + black_box(&boxed)[0] as usize;
        ring[round as usize % RING] = black_box(name);
    }
    total
}

fn process_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is valid for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

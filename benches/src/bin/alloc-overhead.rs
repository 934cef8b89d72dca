//! The allocation profilers' overhead on an allocation-heavy workload: runs the `alloc-churn-*`
//! bins (the same work, `alloc_churn.rs`, on one global allocator each) in interleaved rounds and
//! prints a markdown table of each run's CPU time and its ratio to its own baseline allocator:
//! spanscope's `Profiled<System>` to `System`, jemalloc with profiling and pyroscope-rs to jemalloc,
//! dhat to `System` (dhat on 1/`ALLOC_OVERHEAD_DHAT_SCALE` of the work, and so its baseline too).
//!
//! It builds nothing: build the bins first, then run it (see `benches/README.md`):
//!
//! ```sh
//! cargo build --release -p spanscope-benches --bins
//! target/release/alloc-overhead
//! ```
//!
//! With `--instructions` it counts instructions per round of work under callgrind instead (see
//! `count_instructions`), a figure that the machine's load does not move.
//!
//! `ALLOC_OVERHEAD_ROUNDS` (default 21) sets the rounds; each round runs every case once, each
//! baseline next to the cases compared with it, in an order shuffled per round. A case's CPU time
//! is its process's user + system time, every thread's, start to exit
//! (`getrusage(RUSAGE_CHILDREN)` around the wait for it); the child also reports the CPU time of
//! the work alone, without start-up and shutdown. A ratio is the median over rounds of the case's
//! time over its baseline's time in the same round, with its 95% confidence interval (order
//! statistics, `median.rs`).

use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Duration;

#[path = "../median.rs"]
mod median;
use median::median_interval;

/// One process to run each round.
struct Case {
    name: &'static str,
    bin: &'static str,
    args: &'static [&'static str],
    /// Runs on 1/`ALLOC_OVERHEAD_DHAT_SCALE` of the work.
    short: bool,
    /// The cases this one's ratios are taken to.
    baselines: &'static [&'static str],
}

const SYSTEM: &str = "System";
const SYSTEM_INIT: &str = "System, spanscope::init";
const JEMALLOC: &str = "jemalloc";
const SYSTEM_SHORT: &str = "System, short";

const CASES: &[Case] = &[
    Case { name: SYSTEM, bin: "alloc-churn-system", args: &[], short: false, baselines: &[] },
    // The CPU profiler and spanscope's threads, with no allocation sampled: what the row below
    // adds to this one is the sampling alone.
    Case { name: SYSTEM_INIT, bin: "alloc-churn-system", args: &["--init"], short: false, baselines: &[SYSTEM] },
    Case {
        name: "Profiled<System>, no init",
        bin: "alloc-churn-profiled",
        args: &[],
        short: false,
        baselines: &[SYSTEM],
    },
    Case {
        name: "Profiled<System>, spanscope::init",
        bin: "alloc-churn-profiled",
        args: &["--init"],
        short: false,
        baselines: &[SYSTEM, SYSTEM_INIT],
    },
    Case { name: JEMALLOC, bin: "alloc-churn-jemalloc", args: &[], short: false, baselines: &[] },
    Case {
        name: "jemalloc prof + pyroscope-rs",
        bin: "alloc-churn-jemalloc-prof",
        args: &[],
        short: false,
        baselines: &[JEMALLOC],
    },
    Case { name: SYSTEM_SHORT, bin: "alloc-churn-system", args: &[], short: true, baselines: &[] },
    Case { name: "dhat, short", bin: "alloc-churn-dhat", args: &[], short: true, baselines: &[SYSTEM_SHORT] },
];

/// One run of one case.
#[derive(Clone, Copy)]
struct Sample {
    /// The process's user + system CPU time, start to exit.
    process: f64,
    /// The CPU time of the work alone, as the child reports it.
    work: f64,
    /// The allocation profiles spanscope wrote.
    profiles: u64,
    /// The rounds of work done.
    rounds: u64,
}

fn main() -> ExitCode {
    let rounds: usize = env_number("ALLOC_OVERHEAD_ROUNDS", 21);
    let scale: usize = env_number("ALLOC_OVERHEAD_DHAT_SCALE", 40);
    let instructions = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("--instructions") => true,
        Some(other) => {
            eprintln!("alloc-overhead: unknown argument `{other}` (expected nothing or `--instructions`)");
            return ExitCode::FAILURE;
        }
    };
    let dir = std::env::current_exe().expect("own path").parent().expect("a folder").to_path_buf();
    let (cases, missing): (Vec<&Case>, Vec<&Case>) = CASES.iter().partition(|case| dir.join(case.bin).is_file());
    if cases.is_empty() {
        eprintln!(
            "alloc-overhead: no alloc-churn-* bin beside {}: build them first with \
             `cargo build --release -p spanscope-benches --bins`",
            dir.display()
        );
        return ExitCode::FAILURE;
    }
    for case in &missing {
        eprintln!("alloc-overhead: {} not built, `{}` left out", case.bin, case.name);
    }
    if instructions {
        count_instructions(&dir, &cases, scale);
        return ExitCode::SUCCESS;
    }
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); cases.len()];
    // A family: a baseline and the cases after it in `CASES`, run next to each other so that a
    // ratio's two runs are seconds apart, not a whole round.
    let mut families: Vec<Vec<usize>> = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        match families.last_mut() {
            Some(family) if !case.baselines.is_empty() => family.push(i),
            _ => families.push(vec![i]),
        }
    }
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for round in 0..rounds {
        shuffle(&mut families, &mut seed);
        for family in &mut families {
            shuffle(family, &mut seed);
        }
        for &i in families.iter().flatten() {
            let sample = run(&dir, cases[i], if cases[i].short { scale } else { 1 }, &[]).0;
            eprintln!(
                "round {}/{rounds}: {:<36} {:.3} s CPU ({:.3} s work)",
                round + 1,
                cases[i].name,
                sample.process,
                sample.work
            );
            samples[i].push(sample);
        }
    }
    print_table(&cases, &samples, rounds, scale);
    ExitCode::SUCCESS
}

/// Runs `case` once on 1/`scale` of the work, under `wrapper` (a command and its arguments) if
/// not empty, and measures it; returns its standard error too.
fn run(dir: &Path, case: &Case, scale: usize, wrapper: &[&str]) -> (Sample, String) {
    let bin = dir.join(case.bin);
    let mut command = match wrapper {
        [] => Command::new(&bin),
        [program, args @ ..] => {
            let mut command = Command::new(program);
            command.args(args).arg(&bin);
            command
        }
    };
    command.args(case.args).args(["--scale", &scale.to_string()]);
    let before = children_cpu();
    let output = command.output().unwrap_or_else(|e| panic!("{} does not start: {e}", case.bin));
    let process = (children_cpu() - before).as_secs_f64();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{} failed ({}): {}{}",
        case.name,
        output.status,
        stdout,
        String::from_utf8_lossy(&output.stderr)
    );
    let fields: Vec<u64> = stdout
        .lines()
        .find_map(|line| line.strip_prefix("WORK "))
        .unwrap_or_else(|| panic!("{}: no WORK line in {stdout}", case.name))
        .split_whitespace()
        .map(|field| field.parse().expect("a number"))
        .collect();
    let sample = Sample { process, work: fields[0] as f64 / 1e9, profiles: fields[2], rounds: fields[3] };
    (sample, String::from_utf8_lossy(&output.stderr).into_owned())
}

/// Prints each case's instructions per round of work, counted by callgrind (every thread's),
/// and the ratio to its baseline's: each case runs twice, on 1/10 and 1/5 of the work (`short`
/// cases on 1/(10·`scale`) and 1/(5·`scale`)), and the difference of the counts over the
/// difference of the rounds leaves start-up and shutdown out.
fn count_instructions(dir: &Path, cases: &[&Case], scale: usize) {
    let callgrind = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"];
    let per_round: Vec<f64> = cases
        .iter()
        .map(|case| {
            let large = if case.short { 5 * scale } else { 5 };
            let [(small_count, small_rounds), (large_count, large_rounds)] = [2 * large, large].map(|scale| {
                let (sample, stderr) = run(dir, case, scale, &callgrind);
                let count = stderr
                    .lines()
                    .find_map(|line| line.split("Collected : ").nth(1)?.trim().parse::<f64>().ok())
                    .unwrap_or_else(|| panic!("{}: no callgrind count in {stderr}", case.name));
                (count, sample.rounds as f64)
            });
            let instructions = (large_count - small_count) / (large_rounds - small_rounds);
            eprintln!("{:<36} {instructions:.0} instructions per round", case.name);
            instructions
        })
        .collect();
    println!("\nInstructions per round of work (callgrind, all threads, start-up and shutdown left out):\n");
    println!("| run | instructions per round | baseline | ratio |");
    println!("| --- | ---: | --- | ---: |");
    for (case, ours) in cases.iter().zip(&per_round) {
        let baselines: Vec<(&str, f64)> = baselines(cases, case).map(|(name, i)| (name, per_round[i])).collect();
        if baselines.is_empty() {
            println!("| {} | {ours:.0} | — | |", case.name);
        }
        for (name, theirs) in baselines {
            println!("| {} | {ours:.0} | {name} | {:.4} |", case.name, ours / theirs);
        }
    }
}

/// The user + system CPU time of this process's children waited for so far.
fn children_cpu() -> Duration {
    // SAFETY: `rusage` is plain integers, for which all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is valid for the call to fill.
    let status = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(status, 0, "getrusage");
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

fn print_table(cases: &[&Case], samples: &[Vec<Sample>], rounds: usize, scale: usize) {
    let rate = std::env::var("SPANSCOPE_ALLOC_SAMPLE_BYTES").unwrap_or_else(|_| String::from("unset (default)"));
    println!(
        "\nAllocation churn on 2 threads, {rounds} rounds; `short` runs do 1/{scale} of the work. \
         SPANSCOPE_ALLOC_SAMPLE_BYTES: {rate}.\n"
    );
    println!(
        "| run | CPU s | 95% interval | alloc profiles (mean) | baseline | ratio | 95% interval | \
         ratio, work alone | 95% interval |"
    );
    println!("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |");
    for (case, runs) in cases.iter().zip(samples) {
        let (cpu, low, high) = median_interval(&mut runs.iter().map(|s| s.process).collect::<Vec<_>>());
        let profiles = runs.iter().map(|s| s.profiles).sum::<u64>() as f64 / runs.len() as f64;
        let head = format!("| {} | {cpu:.3} | {low:.3}–{high:.3} | {profiles:.1} |", case.name);
        let baselines: Vec<(&str, &[Sample])> =
            baselines(cases, case).map(|(name, i)| (name, &samples[i][..])).collect();
        if baselines.is_empty() {
            println!("{head} — | | | | |");
        }
        for (name, base) in baselines {
            let ratio = |of: fn(&Sample) -> f64| {
                let (ratio, low, high) =
                    median_interval(&mut runs.iter().zip(base).map(|(s, b)| of(s) / of(b)).collect::<Vec<_>>());
                format!("{ratio:.4} | {low:.4}–{high:.4}")
            };
            println!("{head} {name} | {} | {} |", ratio(|s| s.process), ratio(|s| s.work));
        }
    }
}

/// `case`'s baselines that are among `cases`, with their indices there.
fn baselines<'a>(cases: &'a [&Case], case: &'a Case) -> impl Iterator<Item = (&'static str, usize)> + 'a {
    case.baselines.iter().filter_map(|name| Some((*name, cases.iter().position(|c| c.name == *name)?)))
}

/// A Fisher–Yates shuffle driven by xorshift64: the same orders every invocation.
fn shuffle<T>(order: &mut [T], seed: &mut u64) {
    for i in (1..order.len()).rev() {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        order.swap(i, (*seed % (i as u64 + 1)) as usize);
    }
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().map_or(default, |v| v.parse().unwrap_or_else(|_| panic!("{name}: a number")))
}

//! The cost of one allocation and its free, side by side in one run: spanscope's
//! `Profiled<System>` against `System`, and jemalloc with its heap profiling active against
//! jemalloc with it inactive (what pyroscope-rs's jemalloc backend runs on).
//!
//! ```sh
//! cargo bench -p spanscope-benches --bench alloc
//! ```
//!
//! Each benchmark calls `GlobalAlloc::alloc` and then `dealloc` on one allocator, a block of 16,
//! 256 or 4096 bytes (groups `alloc/<size>`), the layout and the pointer passed through
//! `black_box`. The allocators are statics of this bench, not its global allocator, so only these
//! calls reach them. Two phases, in this order:
//!
//! 1. before `spanscope::init`: `system` and `profiled/no-init` (`Profiled<System>` with no
//!    profiler: the unsampled path, a thread-local countdown, and the free's filter load);
//! 2. after `spanscope::init` (defaults: the CPU profiler on at 100 Hz, allocations sampled every
//!    `SPANSCOPE_ALLOC_SAMPLE_BYTES`, 512 KiB by default, output to a temporary folder):
//!    `system/init`, `profiled/sampling` (`Profiled<System>` sampling at that rate: every sample
//!    walks the stack, its cost spread over the allocations between samples), `jemalloc`
//!    (started with `prof:true,prof_active:false`) and `jemalloc/prof` (`prof.active` set to true
//!    through `mallctl`, sampling at jemalloc's default `lg_prof_sample:19`, also 512 KiB).
//!
//! criterion measures each case on its own, one after the other, so a change in the machine's
//! load between two cases shows as a difference between them. The ratios at the end are taken
//! apart from that, in pairs: each case and its baseline (`profiled/no-init` and `system`,
//! `profiled/sampling` and `system/init`, `jemalloc/prof` and `jemalloc`) take turns in rounds
//! of 2²⁰ allocations each, and the table gives the median time per allocation and free of each
//! over the rounds, the median of the rounds' ratios and the range of those ratios.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use spanscope::alloc::Profiled;
use tikv_jemallocator::Jemalloc;

static PROFILED: Profiled<System> = Profiled::new(System);
static JEMALLOC: Jemalloc = Jemalloc;

/// jemalloc's options, read at its first allocation: profiling on, inactive until a case
/// activates it (`prof:true` cannot be turned on later).
#[export_name = "_rjem_malloc_conf"]
static MALLOC_CONF: &[u8; 28] = b"prof:true,prof_active:false\0";

const SIZES: [usize; 3] = [16, 256, 4096];
/// Allocations per turn in the paired rounds.
const TURN: u64 = 1 << 20;
/// Paired rounds per case and size: the range of 21 ratios holds their median with a
/// probability of 1 − 2⁻²⁰.
const ROUNDS: usize = 21;

/// One case: an allocator, and what it needs set around its calls.
trait Case {
    /// `iters` allocations of `size` bytes, each freed at once.
    fn time(&self, size: usize, iters: u64) -> Duration;
}

impl<A: GlobalAlloc> Case for A {
    fn time(&self, size: usize, iters: u64) -> Duration {
        let layout = Layout::from_size_align(size, 8).expect("a layout");
        let start = Instant::now();
        for _ in 0..iters {
            let layout = black_box(layout);
            // SAFETY: `layout` has a non-zero size.
            let block = unsafe { self.alloc(layout) };
            assert!(!block.is_null(), "out of memory");
            // SAFETY: `block` was allocated just above with `layout`, and is freed once.
            unsafe { self.dealloc(black_box(block), layout) };
        }
        start.elapsed()
    }
}

/// jemalloc with its heap profiling active while the case runs.
struct JemallocProf;

impl Case for JemallocProf {
    fn time(&self, size: usize, iters: u64) -> Duration {
        set_jemalloc_profiling(true);
        let elapsed = JEMALLOC.time(size, iters);
        set_jemalloc_profiling(false);
        elapsed
    }
}

fn set_jemalloc_profiling(active: bool) {
    // SAFETY: `prof.active` is a writable bool (jemalloc's manual, `mallctl` namespace).
    unsafe { tikv_jemalloc_ctl::raw::write(b"prof.active\0", active) }.expect("prof.active");
}

/// A case against its baseline, in rounds: the median ns of each and the median, lowest and
/// highest of the rounds' ratios.
struct Pair {
    size: usize,
    case: &'static str,
    baseline: &'static str,
    ns: (f64, f64),
    ratio: (f64, f64, f64),
}

static PAIRS: Mutex<Vec<Pair>> = Mutex::new(Vec::new());

/// Benchmarks `case` and `baseline` for every size with criterion, then in paired rounds.
fn compare(c: &mut Criterion, (id, case): (&'static str, &dyn Case), (base_id, baseline): (&'static str, &dyn Case)) {
    for size in SIZES {
        let mut group = c.benchmark_group(format!("alloc/{size}"));
        group.bench_function(base_id, |b| b.iter_custom(|iters| baseline.time(size, iters)));
        group.bench_function(id, |b| b.iter_custom(|iters| case.time(size, iters)));
        group.finish();
    }
    for size in SIZES {
        let (mut ours, mut theirs, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            // Alternating which goes first evens out what the first turn leaves to the second.
            let (a, b) = if round % 2 == 0 {
                let b = baseline.time(size, TURN);
                (case.time(size, TURN), b)
            } else {
                let a = case.time(size, TURN);
                (a, baseline.time(size, TURN))
            };
            ours.push(a.as_nanos() as f64 / TURN as f64);
            theirs.push(b.as_nanos() as f64 / TURN as f64);
            ratios.push(a.as_secs_f64() / b.as_secs_f64());
        }
        let low = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let high = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        PAIRS.lock().expect("pairs").push(Pair {
            size,
            case: id,
            baseline: base_id,
            ns: (median(ours), median(theirs)),
            ratio: (median(ratios), low, high),
        });
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn before_init(c: &mut Criterion) {
    compare(c, ("profiled/no-init", &PROFILED), ("system", &System));
}

fn after_init(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("spanscope-alloc-bench-{}", std::process::id()));
    let guard = spanscope::init(spanscope::Config::new().service_name("alloc-bench").out_dir(&dir));
    compare(c, ("profiled/sampling", &PROFILED), ("system/init", &System));
    assert!(tikv_jemalloc_ctl::profiling::prof::read().expect("opt.prof"), "jemalloc started without prof:true");
    compare(c, ("jemalloc/prof", &JemallocProf), ("jemalloc", &JEMALLOC));
    drop(guard);
    // The folder is this process's own.
    let _ = std::fs::remove_dir_all(&dir);
}

/// Prints the paired rounds' figures.
fn table(_: &mut Criterion) {
    println!("\nPaired rounds ({ROUNDS} of 2²⁰ allocations and frees per case and size):\n");
    println!("| size | case | ns | baseline | baseline ns | difference ns | ratio | ratio range |");
    println!("| ---: | --- | ---: | --- | ---: | ---: | ---: | ---: |");
    for pair in PAIRS.lock().expect("pairs").iter() {
        let Pair { size, case, baseline, ns: (ours, theirs), ratio: (ratio, low, high) } = pair;
        println!(
            "| {size} | {case} | {ours:.2} | {baseline} | {theirs:.2} | {:+.2} | {ratio:.3} | {low:.3}–{high:.3} |",
            ours - theirs
        );
    }
}

criterion_group!(benches, before_init, after_init, table);
criterion_main!(benches);

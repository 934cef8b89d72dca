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
//! `black_box`, each call through one out-of-line function as a program's `__rust_alloc` and
//! `__rust_dealloc` reach its global allocator. The allocators are statics of this bench, not its global allocator, so only these
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
//! `profiled/sampling` and `system/init`, `jemalloc/prof` and `jemalloc`) take turns in 201 rounds
//! of 2¹⁶ allocations each, and the table gives the median time per allocation and free of each
//! over the rounds, and the median of the rounds' ratios with its 95% confidence interval.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
#[path = "../src/median.rs"]
mod median;
use median::median_interval;
use spanscope::alloc::Profiled;
use tikv_jemallocator::Jemalloc;

static PROFILED: Profiled<System> = Profiled::new(System);
static JEMALLOC: Jemalloc = Jemalloc;

/// jemalloc's options, read at its first allocation: profiling on, inactive until a case
/// activates it (`prof:true` cannot be turned on later).
#[export_name = "_rjem_malloc_conf"]
static MALLOC_CONF: &[u8; 28] = b"prof:true,prof_active:false\0";

const SIZES: [usize; 3] = [16, 256, 4096];
/// Allocations per turn in the paired rounds: about a millisecond, shorter than the scheduler's
/// time slice, so that most turns run unpreempted on a shared machine and the medians pass over
/// the others.
const TURN: u64 = 1 << 16;
/// Paired rounds per case and size.
const ROUNDS: usize = 201;

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
            let block = unsafe { alloc(self, layout) };
            assert!(!block.is_null(), "out of memory");
            // SAFETY: `block` was allocated just above with `layout`, and is freed once.
            unsafe { dealloc(self, black_box(block), layout) };
        }
        start.elapsed()
    }
}

/// `allocator.alloc`, called as a program's allocations reach its global allocator: through one
/// function call (`__rust_alloc`) into which the allocator's method is inlined, so that every
/// case pays the same call and no case's method is folded into the loop.
///
/// # Safety
/// `GlobalAlloc::alloc`'s.
#[inline(never)]
unsafe fn alloc<A: GlobalAlloc>(allocator: &A, layout: Layout) -> *mut u8 {
    // SAFETY: the caller's contract, passed on.
    unsafe { allocator.alloc(layout) }
}

/// `allocator.dealloc`, called as [`alloc`] calls `alloc`.
///
/// # Safety
/// `GlobalAlloc::dealloc`'s.
#[inline(never)]
unsafe fn dealloc<A: GlobalAlloc>(allocator: &A, block: *mut u8, layout: Layout) {
    // SAFETY: the caller's contract, passed on.
    unsafe { allocator.dealloc(block, layout) }
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

/// A case against its baseline, in rounds: the median ns of each, and the median of the rounds'
/// ratios with its 95% confidence interval.
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
        PAIRS.lock().expect("pairs").push(Pair {
            size,
            case: id,
            baseline: base_id,
            ns: (median_interval(&mut ours).0, median_interval(&mut theirs).0),
            ratio: median_interval(&mut ratios),
        });
    }
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
    println!("\nPaired rounds ({ROUNDS} of 2¹⁶ allocations and frees per case and size; medians):\n");
    println!("| size | case | ns | baseline | baseline ns | difference ns | ratio | 95% interval |");
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

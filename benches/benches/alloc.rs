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
//!    sampler: the unsampled path, a thread-local countdown);
//! 2. after `spanscope::init` (defaults: the CPU profiler on at 100 Hz, allocations sampled every
//!    `SPANSCOPE_ALLOC_SAMPLE_BYTES`, 512 KiB by default, output to a temporary folder):
//!    `system/init`, `profiled/sampling` (`Profiled<System>` sampling at that rate: every sample
//!    walks the stack, its cost spread over the allocations between samples), `jemalloc`
//!    (started with `prof:true,prof_active:false`) and `jemalloc/prof` (`prof.active` set to true
//!    through `mallctl`, sampling at jemalloc's default `lg_prof_sample:19`, also 512 KiB).
//!
//! At the end it prints a table of each case's time per allocation and free (the total over
//! every iteration criterion timed, its warm-up included, divided by their number) and of the
//! ratio and difference to its baseline: `profiled/no-init` to `system`, `profiled/sampling` to
//! `system/init`, `jemalloc/prof` to `jemalloc`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use spanscope::alloc::Profiled;
use tikv_jemallocator::Jemalloc;

static PROFILED: Profiled<System> = Profiled::new(System);
static JEMALLOC: Jemalloc = Jemalloc;

/// jemalloc's options, read at its first allocation: profiling on, inactive until
/// `start_profilers` activates it (`prof:true` cannot be turned on later).
#[export_name = "_rjem_malloc_conf"]
static MALLOC_CONF: &[u8; 28] = b"prof:true,prof_active:false\0";

const SIZES: [usize; 3] = [16, 256, 4096];

/// Each case's total time and iterations, by `(size, id)`.
static TOTALS: Mutex<Vec<(usize, &'static str, Duration, u64)>> = Mutex::new(Vec::new());

/// `iters` allocations of `size` bytes from `allocator`, each freed at once; the time goes to the
/// total of `(size, id)` too.
fn pairs<A: GlobalAlloc>(allocator: &A, size: usize, id: &'static str, iters: u64) -> Duration {
    let layout = Layout::from_size_align(size, 8).expect("a layout");
    let start = Instant::now();
    for _ in 0..iters {
        let layout = black_box(layout);
        // SAFETY: `layout` has a non-zero size.
        let block = unsafe { allocator.alloc(layout) };
        assert!(!block.is_null(), "out of memory");
        // SAFETY: `block` was allocated just above by `allocator` with `layout`, and is freed once.
        unsafe { allocator.dealloc(black_box(block), layout) };
    }
    let elapsed = start.elapsed();
    let mut totals = TOTALS.lock().expect("totals");
    match totals.iter_mut().find(|(s, i, _, _)| (*s, *i) == (size, id)) {
        Some((_, _, time, count)) => (*time, *count) = (*time + elapsed, *count + iters),
        None => totals.push((size, id, elapsed, iters)),
    }
    elapsed
}

/// Benchmarks `id` for every size, `allocator` fetched once per call.
fn each_size<A: GlobalAlloc>(c: &mut Criterion, id: &'static str, allocator: &'static A) {
    for size in SIZES {
        c.benchmark_group(format!("alloc/{size}"))
            .bench_function(id, |b| b.iter_custom(|iters| pairs(allocator, size, id, iters)));
    }
}

fn before_init(c: &mut Criterion) {
    each_size(c, "system", &System);
    each_size(c, "profiled/no-init", &PROFILED);
}

fn after_init(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("spanscope-alloc-bench-{}", std::process::id()));
    let guard = spanscope::init(spanscope::Config::new().service_name("alloc-bench").out_dir(&dir));
    each_size(c, "system/init", &System);
    each_size(c, "profiled/sampling", &PROFILED);
    assert!(tikv_jemalloc_ctl::profiling::prof::read().expect("opt.prof"), "jemalloc started without prof:true");
    each_size(c, "jemalloc", &JEMALLOC);
    set_jemalloc_profiling(true);
    each_size(c, "jemalloc/prof", &JEMALLOC);
    set_jemalloc_profiling(false);
    drop(guard);
    // The folder is this process's own.
    let _ = std::fs::remove_dir_all(&dir);
}

fn set_jemalloc_profiling(active: bool) {
    // SAFETY: `prof.active` is a writable bool (jemalloc's manual, `mallctl` namespace).
    unsafe { tikv_jemalloc_ctl::raw::write(b"prof.active\0", active) }.expect("prof.active");
}

/// Prints each case's time per allocation and free, and its ratio and difference to its
/// baseline.
fn table(_: &mut Criterion) {
    let totals = TOTALS.lock().expect("totals");
    let ns = |size: usize, id: &str| {
        totals
            .iter()
            .find(|(s, i, _, _)| (*s, *i) == (size, id))
            .map(|(_, _, time, count)| time.as_nanos() as f64 / *count as f64)
    };
    println!("\n| size | case | ns | baseline | baseline ns | ratio | difference ns |");
    println!("| ---: | --- | ---: | --- | ---: | ---: | ---: |");
    for size in SIZES {
        for (case, baseline) in
            [("profiled/no-init", "system"), ("profiled/sampling", "system/init"), ("jemalloc/prof", "jemalloc")]
        {
            let (Some(ours), Some(base)) = (ns(size, case), ns(size, baseline)) else { continue };
            println!(
                "| {size} | {case} | {ours:.2} | {baseline} | {base:.2} | {:.3} | {:+.2} |",
                ours / base,
                ours - base
            );
        }
    }
}

criterion_group!(benches, before_init, after_init, table);
criterion_main!(benches);

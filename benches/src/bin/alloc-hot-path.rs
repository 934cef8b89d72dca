//! One allocation path, repeated: what `callgrind/alloc.sh` counts instructions of.
//!
//! `alloc-hot-path CASE N` allocates and frees N blocks of 64 bytes through one allocator,
//! called directly (a `GlobalAlloc` is a value like any other), so that each case measures
//! exactly that allocator's path in the same binary:
//! - `system`: `std::alloc::System`, the baseline;
//! - `profiled-off`: `spanscope::alloc::Profiled<System>` without `init` (the countdown only);
//! - `profiled-on`: the same after `init` with allocation sampling at the default 512 KiB
//!   (sampled allocations walk the stack: their cost is spread over the unsampled ones, as it is
//!   in a program), the CPU profiler at 1 Hz so that its own samples stay out of the count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;

use spanscope::alloc::Profiled;
use spanscope::profiler::ProfilerConfig;

static PROFILED: Profiled<System> = Profiled::new(System);

fn churn(allocator: &impl GlobalAlloc, n: u64) {
    let layout = Layout::from_size_align(64, 8).expect("a valid layout");
    for _ in 0..n {
        // SAFETY: a non-zero-sized layout; the block is freed with the same layout.
        unsafe {
            let block = black_box(allocator.alloc(layout));
            allocator.dealloc(block, layout);
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().unwrap_or_default();
    let n: u64 = args.next().and_then(|n| n.parse().ok()).expect("usage: alloc-hot-path CASE N");
    match case.as_str() {
        "system" => churn(&System, n),
        "profiled-off" => churn(&PROFILED, n),
        "profiled-on" => {
            let out = std::env::temp_dir().join(format!("spanscope-alloc-hot-path-{}", std::process::id()));
            let profiler = ProfilerConfig::new().hz(1).exporters([]);
            let config = spanscope::Config::new().service_name("alloc-hot-path").out_dir(&out).exporters([]);
            let guard = spanscope::init(config.profiler(profiler));
            churn(&PROFILED, n);
            drop(guard);
            let stats = spanscope::stats();
            eprintln!("alloc_samples={} dropped={}", stats.alloc_samples, stats.alloc_samples_dropped);
            let _ = std::fs::remove_dir_all(out);
        }
        other => panic!("unknown case {other:?}: system, profiled-off, profiled-on"),
    }
}

//! A program for the exporter tests that need a process of their own (to read what it logs):
//! reports a span every 10 ms for the milliseconds given as its first argument, with the exporter
//! the environment configures, then shuts down. A second argument is the CPU time in ms it burns
//! before each span (none by default), for the CPU profiler to have samples to export.

use std::time::{Duration, Instant};

use spanscope_tests::collector::shop;
use spanscope_tests::profiles::burn_for;

fn main() {
    let arg = |n: usize, default: u64| std::env::args().nth(n).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (millis, busy) = (arg(1, 1000), Duration::from_millis(arg(2, 0)));
    let guard = spanscope::init(spanscope::Config::new().service_name("fixture"));
    let until = Instant::now() + Duration::from_millis(millis);
    while Instant::now() < until {
        burn_for(busy, || {
            std::hint::black_box(0);
        });
        shop::tick();
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(guard);
    let stats = spanscope::stats();
    println!("exported={} rejected={}", stats.spans_exported, stats.spans_dropped_rejected);
}

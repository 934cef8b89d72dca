//! A program for the exporter tests that need a process of their own (to read what it logs):
//! reports a span every 10 ms for the milliseconds given as its argument, with the exporter the
//! environment configures, then shuts down.

use std::time::{Duration, Instant};

use spanscope_tests::collector::shop;

fn main() {
    let millis: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let guard = spanscope::init(spanscope::Config::new().service_name("fixture"));
    let until = Instant::now() + Duration::from_millis(millis);
    while Instant::now() < until {
        shop::tick();
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(guard);
    let stats = spanscope::stats();
    println!("exported={} rejected={}", stats.spans_exported, stats.spans_dropped_rejected);
}

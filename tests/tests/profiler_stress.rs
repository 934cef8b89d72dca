//! The sampler under stress: many threads allocating heavily, panicking and catching (and
//! re-raising and catching again) inside tagged functions and spans, at 1000 Hz, while the
//! profiler is stopped and started over and over. It must never crash, deadlock or corrupt a
//! profile.
//!
//! CI runs a short version. The long one: `SPANSCOPE_STRESS_SECS=600 cargo test --release -p
//! spanscope-tests --test profiler_stress -- --nocapture` (its last result is in the README).

use std::collections::HashMap;
use std::hint::black_box;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use spanscope::profiler::ProfilerConfig;
use spanscope::{local, profiled};
use spanscope_tests::fresh_dir;
use spanscope_tests::profiles::{read_profiles, sampler_lock};

spanscope::tags! {
    pub worker: u64,
    pub phase: &'static str,
}

const THREADS: u64 = 16;

#[inline(never)]
fn churn(seed: u64) -> usize {
    let mut map: HashMap<u64, String> = HashMap::new();
    for i in 0..200 {
        map.insert(seed ^ i, format!("{seed}-{i}-{}", "x".repeat((i % 64) as usize)));
    }
    let boxes: Vec<Box<[u8]>> = (0..64).map(|i| vec![i as u8; 1 + (i * 37 % 4096)].into_boxed_slice()).collect();
    black_box(map.len() + boxes.iter().map(|b| b.len()).sum::<usize>())
}

#[local]
#[profiled(phase = "panicking")]
fn fail(seed: u64) {
    churn(seed);
    panic!("planned panic {seed}");
}

#[profiled(worker = id)]
fn work(id: u64, stop: &AtomicBool, panics: &AtomicU64) {
    let mut round = 0u64;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        churn(id * 1_000_003 + round);
        if round.is_multiple_of(16) {
            // Caught, re-raised from the handler, and caught again one level up.
            let outer = catch_unwind(AssertUnwindSafe(|| {
                if let Err(payload) = catch_unwind(|| fail(round)) {
                    resume_unwind(payload);
                }
            }));
            assert!(outer.is_err());
            panics.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[test]
fn many_threads_allocating_and_panicking_while_the_profiler_restarts() {
    let _lock = sampler_lock();
    let total =
        Duration::from_secs(std::env::var("SPANSCOPE_STRESS_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(0));
    let cycle = Duration::from_millis(700);
    // Planned panics are expected by the thousand; keep the output readable.
    std::panic::set_hook(Box::new(|_| {}));
    let panics = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..THREADS)
        .map(|id| {
            let (stop, panics) = (stop.clone(), panics.clone());
            std::thread::spawn(move || work(id, &stop, &panics))
        })
        .collect();
    let started = Instant::now();
    let (mut cycles, mut profiles, mut samples) = (0, 0, 0i64);
    while cycles < 3 || started.elapsed() < total {
        let dir = fresh_dir("stress");
        let config = spanscope::Config::new()
            .service_name("profiler-stress")
            .out_dir(&dir)
            .exporters([])
            // Symbolising a debug build on a loaded machine can outlast the default 5 s; each
            // cycle must end with its profiles written before the folder is read and removed.
            .shutdown_timeout(Duration::from_secs(120))
            .profiler(ProfilerConfig::new().hz(1000).interval(Duration::from_millis(300)).flamegraph_tag("worker"));
        let guard = spanscope::init(config);
        std::thread::sleep(cycle);
        drop(guard);
        // Stopped: the threads go on, and a SIGPROF still in flight must be harmless.
        std::thread::sleep(Duration::from_millis(50));
        for (_, profile) in read_profiles(&dir) {
            profiles += 1;
            for sample in &profile.sample {
                assert!(!sample.location_id.is_empty());
                samples += sample.value[0] / profile.period;
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        cycles += 1;
    }
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        thread.join().expect("a worker died");
    }
    let _ = std::panic::take_hook();
    let stats = spanscope::stats();
    eprintln!(
        "stress: {cycles} start/stop cycles in {:?}, {THREADS} threads, {} panics caught, {profiles} profiles, {samples} samples, {} dropped",
        started.elapsed(),
        panics.load(Ordering::Relaxed),
        stats.profile_samples_dropped
    );
    assert!(cycles >= 3 && profiles >= cycles && samples > 0);
    assert!(panics.load(Ordering::Relaxed) > 0);
    assert!(stats.profile_samples_dropped * 100 <= stats.profile_samples.max(1), "{stats:?}");
}

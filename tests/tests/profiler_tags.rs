//! CPU samples carry the `#[profiled]` tags active when they were taken: two CPU-bound
//! functions under different tags, on threads and as async tasks interleaved on the same worker
//! threads, read back from the pprof files the runtime wrote. Also: names are demangled and
//! right, with file and line.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use spanscope::profiled;
use spanscope::profiler::ProfilerConfig;
use spanscope_tests::fresh_dir;
use spanscope_tests::profiles::{all_samples, burn_for, sampler_lock, FlatSample};

spanscope::tags! {
    pub route: &'static str = "http.route",
}

/// Each function burns this much CPU per test.
const CPU: Duration = Duration::from_millis(1500);

#[inline(never)]
fn spin(n: u64) -> u64 {
    (0..n).fold(0u64, |acc, i| black_box(acc.wrapping_mul(31).wrapping_add(i)))
}

#[inline(never)]
fn burn_alpha() {
    black_box(spin(black_box(20_000)));
}

#[inline(never)]
fn burn_beta() {
    black_box(spin(black_box(20_000)));
}

#[profiled(route = "alpha")]
fn alpha(cpu: Duration) {
    burn_for(cpu, burn_alpha);
}

#[profiled(route = "beta")]
fn beta(cpu: Duration) {
    burn_for(cpu, burn_beta);
}

fn profile(dir: &Path, work: impl FnOnce()) -> Vec<FlatSample> {
    let config = spanscope::Config::new()
        .service_name("profiler-tags")
        .out_dir(dir)
        .exporters([])
        .profiler(ProfilerConfig::new().hz(100).interval(Duration::from_secs(3600)));
    let guard = spanscope::init(config);
    work();
    drop(guard);
    all_samples(dir)
}

/// At least 95% of the samples in `function` carry `route = own`, and none `route = other`.
fn assert_attributed(samples: &[FlatSample], function: &str, own: &str, other: &str) {
    let inside: Vec<_> = samples.iter().filter(|s| s.has(function)).collect();
    let total: i64 = inside.iter().map(|s| s.nanos).sum();
    let own_nanos: i64 = inside.iter().filter(|s| s.label("http.route") == Some(own)).map(|s| s.nanos).sum();
    let wrong: Vec<_> = inside.iter().filter(|s| s.label("http.route") == Some(other)).collect();
    assert!(total >= 50 * 10_000_000, "{function}: only {} samples", total / 10_000_000);
    assert!(own_nanos * 100 >= total * 95, "{function}: {own_nanos} of {total} ns tagged {own}");
    assert!(wrong.is_empty(), "{function}: samples tagged {other}: {wrong:?}");
}

#[test]
fn threads_under_different_tags_get_their_own_samples() {
    let _lock = sampler_lock();
    let dir = fresh_dir("threads");
    let samples = profile(&dir, || {
        let a = std::thread::spawn(|| alpha(CPU));
        let b = std::thread::spawn(|| beta(CPU));
        a.join().unwrap();
        b.join().unwrap();
    });
    assert_attributed(&samples, "profiler_tags::burn_alpha", "alpha", "beta");
    assert_attributed(&samples, "profiler_tags::burn_beta", "beta", "alpha");
}

#[profiled(route = "alpha")]
async fn alpha_task(rounds: u32) {
    for _ in 0..rounds {
        burn_for(Duration::from_millis(3), burn_alpha);
        tokio::task::yield_now().await;
    }
}

#[profiled(route = "beta")]
async fn beta_task(rounds: u32) {
    for _ in 0..rounds {
        burn_for(Duration::from_millis(3), burn_beta);
        tokio::task::yield_now().await;
    }
}

#[test]
fn interleaved_async_tasks_get_their_own_samples() {
    let _lock = sampler_lock();
    let dir = fresh_dir("async");
    let rounds = (CPU.as_millis() / 3) as u32;
    let samples = profile(&dir, || {
        // Two workers, four tasks: each worker alternates between an alpha and a beta task at
        // every yield, and tasks move between the workers.
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
        runtime.block_on(async {
            let tasks = [
                tokio::spawn(alpha_task(rounds / 2)),
                tokio::spawn(beta_task(rounds / 2)),
                tokio::spawn(alpha_task(rounds / 2)),
                tokio::spawn(beta_task(rounds / 2)),
            ];
            for task in tasks {
                task.await.unwrap();
            }
        });
    });
    assert_attributed(&samples, "profiler_tags::burn_alpha", "alpha", "beta");
    assert_attributed(&samples, "profiler_tags::burn_beta", "beta", "alpha");
}

#[test]
fn symbols_are_demangled_with_callers_files_and_lines() {
    let _lock = sampler_lock();
    let dir = fresh_dir("symbols");
    let samples = profile(&dir, || alpha(Duration::from_millis(800)));
    let sample = samples.iter().find(|s| s.has("profiler_tags::burn_alpha")).expect("a sample in burn_alpha");
    let at = sample.functions.iter().position(|f| f == "profiler_tags::burn_alpha").expect("exact demangled name");
    assert!(!sample.functions.iter().any(|f| f.contains("17h") && f.ends_with('E')), "no mangled names: {sample:?}");
    assert!(sample.lines[at].contains("profiler_tags.rs:"), "file and line: {}", sample.lines[at]);
    // The callers are there too: the stack was walked, not just the leaf recorded.
    let rest = &sample.functions[at..];
    assert!(rest.iter().any(|f| f == "spanscope_tests::profiles::burn_for"), "{rest:?}");
    assert!(rest.iter().any(|f| f == "profiler_tags::alpha"), "{rest:?}");
    assert!(rest.iter().any(|f| f.starts_with("std::") || f.starts_with("core::")), "through std: {rest:?}");
}

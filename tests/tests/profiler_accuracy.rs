//! The CPU time the profile accounts for matches the CPU time the process used: at 100 Hz on
//! two busy threads, within 10%. And it is the application's CPU time: spanscope's own threads
//! take no sample.

use std::hint::black_box;
use std::time::Duration;

use spanscope::profiler::ProfilerConfig;
use spanscope_tests::fresh_dir;
use spanscope_tests::profiles::{all_samples, burn_for, process_cpu, sampler_lock};

#[inline(never)]
fn spin() {
    black_box((0..50_000u64).fold(0u64, |a, i| black_box(a.wrapping_add(i * i))));
}

#[test]
fn sampled_cpu_time_matches_measured_cpu_time() {
    let _lock = sampler_lock();
    let dir = fresh_dir("accuracy");
    let config = spanscope::Config::new()
        .service_name("profiler-accuracy")
        .out_dir(&dir)
        .exporters([])
        .profiler(ProfilerConfig::new().hz(100).interval(Duration::from_secs(3600)));
    let guard = spanscope::init(config);
    let before = process_cpu();
    let threads: Vec<_> = (0..2).map(|_| std::thread::spawn(|| burn_for(Duration::from_secs(3), spin))).collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let measured = process_cpu() - before;
    drop(guard);

    let samples = all_samples(&dir);
    // Only the work's samples: the stack is walked, so they are the ones through `burn_for`.
    let sampled: i64 = samples.iter().filter(|s| s.has("profiles::burn_for")).map(|s| s.nanos).sum();
    let sampled = Duration::from_nanos(sampled as u64);
    let ratio = sampled.as_secs_f64() / measured.as_secs_f64();
    eprintln!("measured {measured:?} of CPU, sampled {sampled:?}: ratio {ratio:.3}");
    assert!((0.9..=1.1).contains(&ratio), "sampled {sampled:?} vs measured {measured:?} (ratio {ratio:.3})");
    let stats = spanscope::stats();
    assert_eq!(stats.profile_samples_dropped, 0, "{stats:?}");
}

#[test]
fn spanscope_threads_take_no_samples() {
    let _lock = sampler_lock();
    let dir = fresh_dir("own-threads");
    // Short windows at a high rate: the collector symbolises and writes ten profiles while the
    // application runs, CPU that a sampled collector thread would show.
    let config = spanscope::Config::new()
        .service_name("profiler-own-threads")
        .out_dir(&dir)
        .exporters([])
        .profiler(ProfilerConfig::new().hz(1000).interval(Duration::from_millis(100)));
    let guard = spanscope::init(config);
    burn_for(Duration::from_secs(1), spin);
    drop(guard);

    let samples = all_samples(&dir);
    assert!(samples.iter().any(|s| s.has("profiles::burn_for")), "the application is sampled");
    let collector: Vec<_> = samples
        .iter()
        .filter(|s| s.functions.iter().any(|f| f.starts_with("spanscope::profiler::collector::")))
        .collect();
    assert!(collector.is_empty(), "{} samples on the collector thread: {:?}", collector.len(), collector.first());
}

//! Symbolising a profile of a debug build reads the compilation units its samples fall in, not
//! all of the binary's DWARF (this test's binary carries some 100 MB of it): the process's
//! resident memory grows by little while the profile is resolved.

use std::hint::black_box;
use std::time::Duration;

use spanscope::profiler::ProfilerConfig;
use spanscope_tests::fresh_dir;
use spanscope_tests::profiles::{all_samples, burn_for, sampler_lock};

/// What symbolising the work's profile may add to the resident memory, at most: the units kept
/// parsed take about 10 MB at most, the index of the binary's units a few hundred KB. Reading
/// all of the binary's DWARF added 119 MiB.
const BOUND: u64 = 24 << 20;

#[inline(never)]
fn spin() {
    black_box((0..50_000u64).fold(0u64, |a, i| black_box(a.wrapping_add(i * i))));
}

/// A field of `/proc/self/status`, in bytes.
fn status(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find_map(|line| line.strip_prefix(field)).expect(field);
    let kib = line.trim_start_matches(':').trim().trim_end_matches(" kB");
    kib.parse::<u64>().expect("a size in kB") << 10
}

#[test]
fn symbolising_a_debug_build_s_profile_adds_little_resident_memory() {
    let _lock = sampler_lock();
    let dir = fresh_dir("memory");
    let config = spanscope::Config::new()
        .service_name("profiler-memory")
        .out_dir(&dir)
        .exporters([])
        .shutdown_timeout(Duration::from_secs(60))
        .profiler(ProfilerConfig::new().hz(100).interval(Duration::from_secs(3600)));
    let guard = spanscope::init(config);
    burn_for(Duration::from_secs(1), spin);
    // The only window ends at shutdown: everything it resolves is resolved from here on.
    // Writing 5 to `clear_refs` resets the peak (`VmHWM`) to the resident size now.
    std::fs::write("/proc/self/clear_refs", "5").expect("resetting the peak resident size");
    let before = status("VmRSS");
    drop(guard);
    let peak = status("VmHWM");

    let samples = all_samples(&dir);
    assert!(samples.iter().any(|s| s.has("profiler_memory::spin")), "the work was profiled and resolved");
    let grown = peak.saturating_sub(before);
    eprintln!("resident {} MiB before the profile was resolved, at most {} MiB while", before >> 20, peak >> 20);
    assert!(grown < BOUND, "resolving the profile added {} MiB", grown >> 20);
}

//! Allocation profiles pushed to Pyroscope, with `spanscope::alloc::Profiled` as this binary's
//! global allocator, against the receiver in the test that decodes what it receives: each
//! window's allocation profile arrives as its own series, `__name__=memory` with
//! `__delta__=false`, the service name and the static tags, whose pprof carries the four sample
//! types Pyroscope splits it into; the CPU profile of the same window still arrives as
//! `process_cpu`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use spanscope::profiled;
use spanscope::profiler::{ProfilerConfig, ProfilesExporter};
use spanscope_readback::alloc_profiles;
use spanscope_tests::collector::pyroscope::Receiver;
use spanscope_tests::profiles::{burn_for, decode, flatten};

#[global_allocator]
static ALLOC: spanscope::alloc::Profiled<std::alloc::System> = spanscope::alloc::Profiled::new(std::alloc::System);

spanscope::tags! {
    pub route: &'static str = "http.route",
}

/// How long a request may take to arrive.
const PATIENCE: Duration = Duration::from_secs(30);
/// A small mean interval, so that a few MiB give hundreds of samples.
const RATE: u64 = 16 * 1024;

#[inline(never)]
fn spin() {
    std::hint::black_box((0..20_000u64).fold(0u64, |a, i| std::hint::black_box(a ^ i)));
}

/// Allocates 32 MiB in blocks of 1 to 64 KiB, keeping every fourth, and spends some CPU.
#[profiled(route = "import")]
#[inline(never)]
fn import(kept: &mut Vec<Vec<u8>>) {
    let mut allocated = 0;
    for i in 0.. {
        let block: Vec<u8> = std::hint::black_box(Vec::with_capacity(1024 << (i % 7)));
        allocated += block.capacity();
        if i % 4 == 0 {
            kept.push(block);
        }
        if allocated >= 32 << 20 {
            break;
        }
    }
    burn_for(Duration::from_millis(300), spin);
}

/// The ids Pyroscope gives a series' profile types: `__name__`, then each sample type and unit,
/// then the period type and unit.
fn profile_type_ids(name: &str, sample_types: &[(String, String)], period_type: &(String, String)) -> Vec<String> {
    let (period, period_unit) = period_type;
    sample_types.iter().map(|(kind, unit)| format!("{name}:{kind}:{unit}:{period}:{period_unit}")).collect()
}

#[test]
fn allocation_profiles_are_pushed_as_memory_beside_cpu_as_process_cpu() {
    let receiver = Receiver::http(Vec::new());
    let profiler = ProfilerConfig::new()
        .exporters([ProfilesExporter::Pyroscope])
        .pyroscope_address(receiver.url())
        .interval(Duration::from_secs(3600))
        .alloc_sample_bytes(RATE);
    let config = spanscope::Config::new()
        .service_name("alloc-pyro")
        .exporters([])
        .metrics_exporters([])
        .logs_exporters([])
        .profiler(profiler)
        .var("PYROSCOPE_TAGS", "env=test")
        // Resolving a debug build's first profile on a loaded machine can take seconds.
        .shutdown_timeout(Duration::from_secs(60));
    let guard = spanscope::init(config);
    let mut kept = Vec::new();
    import(&mut kept);
    // The only window ends with the guard, while the kept blocks are live.
    drop(guard);
    drop(kept);

    // By `__name__`: the window's two profiles go as two pushes, in no set order.
    let mut pushes = BTreeMap::new();
    while pushes.len() < 2 {
        let pushed = receiver.requests.recv_timeout(PATIENCE).expect("a CPU and an allocation profile").pushed();
        let name = pushed.labels.iter().find(|(k, _)| k == "__name__").map(|(_, v)| v.clone()).expect("a __name__");
        assert!(pushes.insert(name.clone(), pushed).is_none(), "one push of {name}");
    }
    let names: Vec<&str> = pushes.keys().map(String::as_str).collect();
    assert_eq!(names, ["memory", "process_cpu"]);
    let labels = |name: &str| -> Vec<(&str, &str)> {
        pushes[name].labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    };

    assert_eq!(
        labels("memory"),
        [("__name__", "memory"), ("service_name", "alloc-pyro"), ("__delta__", "false"), ("env", "test")]
    );
    let memory = alloc_profiles::decode(PathBuf::from("pushed"), &pushes["memory"].profile);
    assert_eq!(
        profile_type_ids("memory", &memory.sample_types, &memory.period_type),
        [
            "memory:alloc_objects:count:space:bytes",
            "memory:alloc_space:bytes:space:bytes",
            "memory:inuse_objects:count:space:bytes",
            "memory:inuse_space:bytes:space:bytes",
        ]
    );
    assert_eq!(memory.period, RATE as i64);
    let imported: Vec<_> = memory.samples.iter().filter(|s| s.has("alloc_pyroscope::import")).collect();
    assert!(!imported.is_empty(), "{:?}", memory.samples);
    assert!(imported.iter().all(|s| s.label("http.route") == Some("import")), "{imported:?}");
    let (allocated, live) = imported.iter().fold((0, 0), |(a, l), s| (a + s.alloc_space, l + s.inuse_space));
    assert!(allocated > 0 && live > 0 && live < allocated, "{allocated} bytes allocated, {live} live");

    assert_eq!(labels("process_cpu"), [("__name__", "process_cpu"), ("service_name", "alloc-pyro"), ("env", "test")]);
    let cpu = decode(&pushes["process_cpu"].profile);
    let text = |i: i64| cpu.string_table[i as usize].clone();
    let sample_types: Vec<(String, String)> = cpu.sample_type.iter().map(|t| (text(t.r#type), text(t.unit))).collect();
    let period_type = cpu.period_type.as_ref().map(|t| (text(t.r#type), text(t.unit))).expect("a period type");
    assert_eq!(
        profile_type_ids("process_cpu", &sample_types, &period_type),
        ["process_cpu:cpu:nanoseconds:cpu:nanoseconds"]
    );
    let spun = flatten(&cpu).into_iter().filter(|s| s.has("alloc_pyroscope::spin")).collect::<Vec<_>>();
    assert!(!spun.is_empty() && spun.iter().all(|s| s.label("http.route") == Some("import")), "{spun:?}");
}

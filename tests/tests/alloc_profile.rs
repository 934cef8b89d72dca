//! Allocation profiles: estimates within ±10% of the bytes a workload allocated and kept under
//! two tags, attribution to tags and spans across async tasks interleaved on two worker threads,
//! each span's own allocated bytes, and the files beside the CPU profile. Profiles are decoded
//! with pprof messages written independently of the runtime's (`readback::alloc_profiles`).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use spanscope::profiler::ProfilerConfig;
use spanscope::{entry, profiled, SpanContext};
use spanscope_readback::alloc_profiles::{self, AllocProfile};
use spanscope_tests::profiles::sampler_lock;
use spanscope_tests::{fresh_dir, read_spans};

#[global_allocator]
static ALLOC: spanscope::alloc::Profiled<std::alloc::System> = spanscope::alloc::Profiled::new(std::alloc::System);

spanscope::tags! {
    pub tenant: &'static str = "tenant",
}

/// A small mean interval, so that a test's few hundred MiB give thousands of samples: the
/// estimates' error does not depend on the rate, only on how many samples there are.
const RATE: u64 = 64 * 1024;

/// Block sizes cycled through: from 48 bytes to 48 KiB (about the rate: sampled with
/// probabilities from 0.07% to 53%, so the per-sample weights differ widely).
fn size(i: usize) -> usize {
    48 << (i % 11)
}

/// Allocates blocks until `bytes` were allocated, keeping every `keep_every`-th (none for 0); returns the
/// bytes allocated and kept. Pauses each MiB, as a service does between requests, so that the
/// collector keeps up even in a debug build (a dropped sample would bias the estimates).
#[inline(never)]
fn allocate(bytes: usize, keep_every: usize, kept: &mut Vec<Vec<u8>>) -> (usize, usize) {
    let (mut allocated, mut live, mut i, mut since_pause) = (0, 0, 0, 0);
    while allocated < bytes {
        let block: Vec<u8> = black_box(Vec::with_capacity(size(i)));
        allocated += block.capacity();
        since_pause += block.capacity();
        if keep_every > 0 && i % keep_every == 0 {
            live += block.capacity();
            kept.push(block);
        }
        i += 1;
        if since_pause >= 1 << 20 {
            since_pause = 0;
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    (allocated, live)
}

#[profiled(tenant = "light")]
fn light(kept: &mut Vec<Vec<u8>>) -> (usize, usize) {
    allocate(160 << 20, 2, kept)
}

#[profiled(tenant = "heavy")]
fn heavy(kept: &mut Vec<Vec<u8>>) -> (usize, usize) {
    allocate(480 << 20, 0, kept)
}

fn init(dir: &Path) -> spanscope::Guard {
    let profiler =
        ProfilerConfig::new().interval(Duration::from_secs(3600)).alloc_sample_bytes(RATE).flamegraph_tag("tenant");
    spanscope::init(spanscope::Config::new().service_name("alloc-profile").out_dir(dir).profiler(profiler))
}

/// Sums `(alloc_space, inuse_space)` of the samples by their value of label `key`.
fn by_label(profiles: &[AllocProfile], key: &str) -> BTreeMap<String, (i64, i64)> {
    let mut sums = BTreeMap::new();
    for sample in profiles.iter().flat_map(|p| &p.samples) {
        let sum: &mut (i64, i64) = sums.entry(sample.label(key).unwrap_or("").to_owned()).or_default();
        sum.0 += sample.alloc_space;
        sum.1 += sample.inuse_space;
    }
    sums
}

fn assert_within_10_percent(estimate: i64, truth: usize, what: &str) {
    let error = (estimate as f64 - truth as f64).abs() / truth as f64;
    assert!(error <= 0.10, "{what}: estimated {estimate} bytes for {truth} ({:.1}% off)", error * 100.0);
}

#[test]
fn estimates_per_tag_are_within_ten_percent_of_the_truth_and_files_go_beside_the_cpu_profile() {
    let _lock = sampler_lock();
    let dir = fresh_dir("accuracy");
    let before = spanscope::stats();
    let guard = init(&dir);
    let mut kept = Vec::new();
    let (light_allocated, light_live) = light(&mut kept);
    let (heavy_allocated, heavy_live) = heavy(&mut kept);
    // The window ends with the guard, while the light tenant's blocks are still live.
    drop(guard);
    drop(kept);
    let stats = spanscope::stats();
    eprintln!(
        "{} {} {}",
        stats.alloc_samples - before.alloc_samples,
        stats.alloc_samples_dropped,
        before.alloc_samples_dropped
    );
    assert_eq!(stats.alloc_samples_dropped - before.alloc_samples_dropped, 0, "no sample dropped");
    assert_eq!(stats.alloc_blocks_untracked - before.alloc_blocks_untracked, 0, "every sampled block followed");

    let profiles = alloc_profiles::read(&dir);
    assert_eq!(profiles.len(), 1, "one window");
    let profile = &profiles[0];
    let types: Vec<(&str, &str)> = profile.sample_types.iter().map(|(t, u)| (t.as_str(), u.as_str())).collect();
    assert_eq!(
        types,
        [("alloc_objects", "count"), ("alloc_space", "bytes"), ("inuse_objects", "count"), ("inuse_space", "bytes")]
    );
    assert_eq!(
        (profile.period_type.0.as_str(), profile.period_type.1.as_str(), profile.period),
        ("space", "bytes", RATE as i64)
    );

    let tenants = by_label(&profiles, "tenant");
    assert_within_10_percent(tenants["light"].0, light_allocated, "light allocated");
    assert_within_10_percent(tenants["heavy"].0, heavy_allocated, "heavy allocated");
    assert_within_10_percent(tenants["light"].1, light_live, "light live at the window's end");
    assert_eq!(heavy_live, 0);
    assert_eq!(tenants["heavy"].1, 0, "nothing of the heavy tenant is live: its frees were followed");

    // Stacks begin at the allocating code, not in the hook.
    let ours: Vec<_> = profile.samples.iter().filter(|s| s.label("tenant").is_some()).collect();
    assert!(ours.iter().all(|s| s.has("alloc_profile::allocate")), "{:?}", ours.first());
    for sample in &profile.samples {
        let leaf = sample.functions.first().map(String::as_str).unwrap_or("");
        assert!(!leaf.contains("spanscope::profiler::alloc") && !leaf.starts_with("__rust"), "{:?}", sample.functions);
    }

    let files: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    let stem = profile.path.file_name().unwrap().to_str().unwrap().strip_suffix(".pb.gz").unwrap();
    for name in [
        format!("{stem}.svg"),
        format!("{stem}.inuse.svg"),
        format!("{stem}.tenant=light.svg"),
        format!("{stem}.tenant=heavy.svg"),
    ] {
        assert!(files.contains(&name), "{name} in {files:?}");
    }
    let cpu_stem = stem.replacen("alloc-", "cpu-", 1);
    assert!(files.contains(&format!("{cpu_stem}.pb.gz")), "the CPU profile of the same window: {files:?}");
    let heavy_svg = std::fs::read_to_string(dir.join(format!("{stem}.tenant=heavy.svg"))).unwrap();
    assert!(heavy_svg.contains("MiB allocated") && heavy_svg.contains("alloc_profile::heavy"), "drawn in bytes");
}

/// A request: allocates `bytes` in blocks, yielding between them so the tasks of both tenants
/// interleave on the runtime's two worker threads and move between them.
#[entry(name = "POST /import")]
async fn import(tenant: &'static str, bytes: usize) -> Request {
    let allocated = match tenant {
        "acme" => import_for_acme(bytes).await,
        _ => import_for_globex(bytes).await,
    };
    Request { span: spanscope::current().context().expect("inside the span"), tenant, allocated }
}

struct Request {
    span: SpanContext,
    tenant: &'static str,
    allocated: usize,
}

#[profiled(tenant = "acme")]
async fn import_for_acme(bytes: usize) -> usize {
    allocate_yielding(bytes).await
}

#[profiled(tenant = "globex")]
async fn import_for_globex(bytes: usize) -> usize {
    allocate_yielding(bytes).await
}

#[inline(never)]
async fn allocate_yielding(bytes: usize) -> usize {
    let (mut allocated, mut i) = (0, 0);
    while allocated < bytes {
        let block: Vec<u8> = black_box(Vec::with_capacity(size(i)));
        allocated += block.capacity();
        drop(block);
        i += 1;
        if i % 64 == 0 {
            tokio::task::yield_now().await;
            if i % 1024 == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
    allocated
}

#[test]
fn async_tasks_on_two_workers_are_attributed_to_their_tag_and_span_and_spans_count_their_bytes() {
    let _lock = sampler_lock();
    let dir = fresh_dir("async");
    let guard = init(&dir);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_time().build().unwrap();
    let results: Vec<Request> = runtime.block_on(async {
        // 8 requests per tenant, interleaved; globex's allocate 3 times as much as acme's.
        let requests = (0..16).map(|n| if n % 2 == 0 { ("acme", 12 << 20) } else { ("globex", 36 << 20) });
        let tasks: Vec<_> = requests.map(|(tenant, bytes)| tokio::spawn(import(tenant, bytes))).collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        results
    });
    drop(runtime);
    drop(guard);

    let profiles = alloc_profiles::read(&dir);
    let truth = |tenant: &str| results.iter().filter(|r| r.tenant == tenant).map(|r| r.allocated).sum::<usize>();
    let tenants = by_label(&profiles, "tenant");
    assert_within_10_percent(tenants["acme"].0, truth("acme"), "acme");
    assert_within_10_percent(tenants["globex"].0, truth("globex"), "globex");

    // Each sample under a tenant is labelled with the span of a request of that tenant.
    let spans_of: BTreeMap<String, &str> = results.iter().map(|r| (r.span.span_id.to_string(), r.tenant)).collect();
    let samples: Vec<_> = profiles.iter().flat_map(|p| &p.samples).filter(|s| s.label("tenant").is_some()).collect();
    for sample in &samples {
        let span = sample.label("span_id").expect("a span");
        assert_eq!(spans_of.get(span).copied(), sample.label("tenant"), "{sample:?}");
        assert_eq!(sample.label("trace_endpoint"), Some("POST /import"));
    }
    let labelled = |tenant: &str| {
        spans_of
            .iter()
            .filter(|(span, t)| **t == tenant && samples.iter().any(|s| s.label("span_id") == Some(span.as_str())))
            .count()
    };
    assert_eq!((labelled("acme"), labelled("globex")), (8, 8), "every request's allocations were sampled");

    // Every span carries the bytes it allocated: its polls', on whichever worker they ran.
    let spans = read_spans(&dir.join("traces.jsonl"));
    for Request { span: context, allocated, .. } in &results {
        let span = spans.iter().find(|s| s.span_id == context.span_id.to_string()).expect("exported");
        let bytes =
            span.attributes.get("spanscope.alloc.bytes").and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()));
        let bytes = bytes.unwrap_or_else(|| panic!("no spanscope.alloc.bytes in {:?}", span.attributes)) as usize;
        // Exactly what the request allocated, and what its polls' bookkeeping did (a few KiB).
        assert!((*allocated..allocated + (64 << 10)).contains(&bytes), "{bytes} bytes for {allocated}");
    }
}

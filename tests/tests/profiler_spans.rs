//! CPU samples taken inside a sampled span carry its local root span's id, its trace id and
//! its endpoint, and the span carries `pyroscope.profile.id` so a trace links to its samples.

use std::hint::black_box;
use std::time::Duration;

use spanscope::profiler::ProfilerConfig;
use spanscope::{entry, local, SpanContext};
use spanscope_tests::profiles::{all_samples, burn_for, sampler_lock};
use spanscope_tests::{fresh_dir, read_spans};

#[inline(never)]
fn spin_in_span() {
    black_box((0..20_000u64).fold(0u64, |a, i| black_box(a ^ i.rotate_left(7))));
}

#[inline(never)]
fn spin_outside() {
    black_box((0..20_000u64).fold(0u64, |a, i| black_box(a ^ i.rotate_left(9))));
}

#[local]
fn pricing() {
    burn_for(Duration::from_millis(400), spin_in_span);
}

#[entry(name = "GET /orders/{id}")]
fn get_order() -> SpanContext {
    pricing();
    burn_for(Duration::from_millis(400), spin_in_span);
    spanscope::current().context().expect("inside a span")
}

#[test]
fn samples_in_spans_carry_the_local_root_span_and_trace() {
    let _lock = sampler_lock();
    let dir = fresh_dir("spans");
    let config = spanscope::Config::new()
        .service_name("profiler-spans")
        .out_dir(&dir)
        .profiler(ProfilerConfig::new().interval(Duration::from_secs(3600)));
    let guard = spanscope::init(config);
    let first = std::thread::spawn(get_order).join().unwrap();
    let second = get_order();
    burn_for(Duration::from_millis(300), spin_outside);
    drop(guard);

    let samples = all_samples(&dir);
    for context in [first, second] {
        let (span_id, trace_id) = (context.span_id.to_string(), context.trace_id.to_string());
        let ours: Vec<_> = samples.iter().filter(|s| s.label("span_id") == Some(span_id.as_str())).collect();
        assert!(ours.len() >= 20, "{} samples carry span {span_id}", ours.len());
        for sample in &ours {
            assert_eq!(sample.label("trace_id"), Some(trace_id.as_str()));
            assert_eq!(sample.label("trace_endpoint"), Some("GET /orders/{id}"));
            assert!(sample.has("profiler_spans::get_order") || sample.has("profiler_spans::pricing"), "{sample:?}");
        }
        // Samples in the nested local span carry the local root's id, not the nested span's.
        assert!(ours.iter().any(|s| s.has("profiler_spans::pricing")));
    }
    let in_span: Vec<_> = samples.iter().filter(|s| s.has("profiler_spans::spin_in_span")).collect();
    let labelled = in_span.iter().filter(|s| s.label("span_id").is_some()).count();
    assert!(labelled * 100 >= in_span.len() * 95, "{labelled} of {} samples in spans labelled", in_span.len());
    let outside: Vec<_> = samples.iter().filter(|s| s.has("profiler_spans::spin_outside")).collect();
    assert!(
        !outside.is_empty() && outside.iter().all(|s| s.label("span_id").is_none() && s.label("trace_id").is_none())
    );

    let spans = read_spans(&dir.join("traces.jsonl"));
    for context in [first, second] {
        let root =
            spans.iter().find(|s| s.span_id == context.span_id.to_string()).expect("the entry span was exported");
        assert_eq!(root.attributes.get("pyroscope.profile.id").and_then(|v| v.as_str()), Some(root.span_id.as_str()));
        let child = spans.iter().find(|s| s.parent_span_id.as_deref() == Some(root.span_id.as_str())).expect("pricing");
        assert!(!child.attributes.contains_key("pyroscope.profile.id"), "only the local root links to the profile");
    }
}

//! Extract and inject, per propagation format, beside the OpenTelemetry SDK's W3C
//! `TraceContextPropagator`, in one run. Carriers are `HashMap<String, String>` on both sides
//! (OpenTelemetry implements its carrier traits for it), holding a realistic request's headers.
//!
//! `cargo bench -p spanscope-benches --bench propagation`

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::Context;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use spanscope::Propagator;

/// A request's ordinary headers, among which the context travels.
fn request_headers() -> HashMap<String, String> {
    [
        ("host", "orders.internal:8080"),
        ("user-agent", "reqwest/0.12"),
        ("accept", "application/json"),
        ("content-type", "application/json"),
        ("content-length", "187"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

#[spanscope::local(name = "bench")]
fn in_span<R>(f: impl FnOnce() -> R) -> R {
    f()
}

fn spanscope_formats(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("spanscope-bench-propagation-{}", std::process::id()));
    let _guard = spanscope::init(spanscope::Config::new().service_name("bench").out_dir(&dir));
    let mut group = c.benchmark_group("propagation");
    in_span(|| {
        spanscope::baggage::set("tenant", "acme").unwrap();
        for format in Propagator::ALL {
            let mut injected = request_headers();
            spanscope::inject_with(&[format], &mut injected);
            group.bench_function(format!("spanscope/{format}/inject"), |b| {
                let mut carrier = request_headers();
                b.iter(|| spanscope::inject_with(black_box(&[format]), black_box(&mut carrier)))
            });
            // Baggage alone carries no trace context; extract it with one that does.
            let formats: &[Propagator] = if format == Propagator::Baggage {
                &[Propagator::TraceContext, Propagator::Baggage]
            } else {
                &[format]
            };
            if format == Propagator::Baggage {
                spanscope::inject_with(&[Propagator::TraceContext], &mut injected);
            }
            assert!(spanscope::extract_with(formats, &injected).is_some(), "{format} reads back its own headers");
            group.bench_function(format!("spanscope/{format}/extract"), |b| {
                b.iter(|| spanscope::extract_with(black_box(formats), black_box(&injected)))
            });
        }
    });
    group.finish();
    let _ = std::fs::remove_dir_all(dir);
}

fn opentelemetry_trace_context(c: &mut Criterion) {
    let propagator = TraceContextPropagator::new();
    let span = SpanContext::new(
        TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
        SpanId::from_hex("00f067aa0ba902b7").unwrap(),
        TraceFlags::SAMPLED,
        false,
        TraceState::default(),
    );
    let cx = Context::new().with_remote_span_context(span);
    let mut injected = request_headers();
    propagator.inject_context(&cx, &mut injected);
    let mut group = c.benchmark_group("propagation");
    group.bench_function("opentelemetry_sdk/tracecontext/inject", |b| {
        let mut carrier = request_headers();
        b.iter(|| propagator.inject_context(black_box(&cx), black_box(&mut carrier)))
    });
    group.bench_function("opentelemetry_sdk/tracecontext/extract", |b| {
        b.iter(|| propagator.extract(black_box(&injected)))
    });
    group.finish();
}

criterion_group!(benches, spanscope_formats, opentelemetry_trace_context);
criterion_main!(benches);

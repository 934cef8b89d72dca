//! Extract and inject, per propagation format, beside the OpenTelemetry SDK's W3C
//! `TraceContextPropagator`, in one run. Carriers are `HashMap<String, String>` on both sides
//! (OpenTelemetry implements its carrier traits for it), holding a realistic request's headers.
//! Then the hostile cases: the most costly headers an attacker can send (about 100 KB, which
//! hyper accepts), extracted from an `http::HeaderMap` as a server does, beside a plain request.
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

// The hostile headers are built as the tests that check them build theirs.
#[path = "../../tests/src/headers.rs"]
mod headers;
use headers::members;

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

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
/// The size of the hostile headers.
const HOSTILE_LEN: usize = 100 * 1024;

/// `request_headers` with a valid `traceparent` and `fields` added, as a server receives them.
fn header_map(fields: &[(&'static str, String)]) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    for (name, value) in request_headers().into_iter().chain([("traceparent".to_owned(), TRACEPARENT.to_owned())]) {
        headers.append(http::HeaderName::try_from(name).unwrap(), value.parse().unwrap());
    }
    for (name, value) in fields {
        headers.append(*name, value.parse().unwrap());
    }
    headers
}

/// The plain request, and the worst cases of each shape: the budget nearly filled by one entry
/// and then many tiny keys (each used to re-read the whole budget); 63 keys of 122 bytes that
/// differ only at the end, and then the same keys again and again (each compared with the
/// others); the field repeated 64 times (hyper takes at most 100 fields); the largest
/// `tracestate` that is valid; and every field of every format filled with junk.
fn hostile_requests() -> Vec<(&'static str, http::HeaderMap)> {
    let largest_baggage: Vec<String> = (0..64).map(|i| format!("k{i:02}={}", "v".repeat(123))).collect();
    let big = format!("big={}", "x".repeat(8100));
    let keys: Vec<String> = (0..63).map(|i| format!("{:x>120}{i:02}=1", "")).collect();
    let repeated_fields: Vec<_> =
        (0..64).map(|f| ("baggage", members(HOSTILE_LEN / 64, "", |i| format!("f{f}k{i}=1")))).collect();
    let tracestate: Vec<String> = (0..32).map(|i| format!("{i:0>256}={}", "v".repeat(256))).collect();
    let junk = "9-,;=% ".repeat(HOSTILE_LEN / 7);
    let every_field: Vec<_> = Propagator::ALL
        .iter()
        .flat_map(|p| p.fields())
        .filter(|f| **f != "traceparent")
        .map(|f| (*f, junk.clone()))
        .collect();
    vec![
        ("plain", header_map(&[("baggage", "tenant=acme".to_owned())])),
        // For scale: the largest `baggage` W3C allows, 64 entries in 8191 bytes.
        ("baggage_largest_valid", header_map(&[("baggage", largest_baggage.join(","))])),
        ("baggage_full_then_tiny_keys", header_map(&[("baggage", members(HOSTILE_LEN, &big, |i| format!("k{i}=1")))])),
        (
            "baggage_63_long_keys_repeated",
            header_map(&[("baggage", members(HOSTILE_LEN, &keys.join(","), |i| keys[i % 63].clone()))]),
        ),
        ("baggage_64_fields", header_map(&repeated_fields)),
        ("tracestate_largest_valid", header_map(&[("tracestate", tracestate.join(","))])),
        ("every_field_junk", header_map(&every_field)),
    ]
}

fn hostile_headers(c: &mut Criterion) {
    let mut group = c.benchmark_group("propagation/hostile");
    for (name, headers) in hostile_requests() {
        let formats: &[Propagator] = if name == "every_field_junk" { &Propagator::ALL } else { Propagator::DEFAULT };
        assert!(spanscope::extract_with(formats, &headers).is_some(), "{name} keeps the trace");
        group.bench_function(name, |b| b.iter(|| spanscope::extract_with(black_box(formats), black_box(&headers))));
    }
    group.finish();
}

criterion_group!(benches, spanscope_formats, opentelemetry_trace_context, hostile_headers);
criterion_main!(benches);

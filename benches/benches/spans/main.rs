//! Per-span cost of spanscope and of its peers, measured side by side in one bench binary.
//!
//! Every library runs the same shape ([`shape`]): one root span with `n` instrumented child
//! calls, `n` in [`shape::SHAPES`], reported as `Throughput::Elements(n)`. Criterion ids are
//! `spans/<n>/<library>`. See `benches/README.md` for how to run it and read the results.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

mod fastrace_peer;
mod otel_sdk_peer;
mod shape;
#[cfg(feature = "peer-skywalking")]
mod skywalking_peer;
mod spanscope_peer;
mod tracing_otel_peer;

fn spans(c: &mut Criterion) {
    for n in shape::SHAPES {
        let mut group = c.benchmark_group(format!("spans/{n}"));
        group.throughput(Throughput::Elements(n));

        shape::run(&mut group, "spanscope/sampled", n, spanscope_peer::Spans::sampled);
        shape::run(&mut group, "spanscope/unsampled", n, spanscope_peer::Spans::unsampled);
        shape::run(&mut group, "spanscope/disabled", n, spanscope_peer::Spans::disabled);
        shape::run(&mut group, "spanscope/by_hand", n, spanscope_peer::ByHand::sampled);
        shape::run(&mut group, "spanscope/tag_push_pop", n, spanscope_peer::Tags::setup);
        shape::run(&mut group, "fastrace", n, fastrace_peer::Fastrace::setup);
        shape::run(&mut group, "tracing_otel", n, tracing_otel_peer::TracingOtel::setup);
        shape::run(&mut group, "otel_sdk", n, otel_sdk_peer::OtelSdk::setup);
        #[cfg(feature = "peer-skywalking")]
        shape::run(&mut group, "skywalking", n, skywalking_peer::Skywalking::setup);

        group.finish();
    }
}

criterion_group!(benches, spans);
criterion_main!(benches);

//! `tracing` with `#[tracing::instrument]`, dispatched to a `tracing_subscriber::Registry` with
//! a `tracing_opentelemetry` layer (default options) over an OpenTelemetry SDK tracer whose
//! batch exporter discards ([`super::otel_sdk_peer::discarding_provider`]).
//!
//! The subscriber is installed with `tracing::subscriber::set_default` (this thread only, for
//! the lifetime of [`TracingOtel`]) rather than as the global default, so the other peers run
//! with no `tracing` subscriber at all. The scoped dispatch adds a thread-local lookup per
//! call, a few ns against this stack's per-span cost.

use std::hint::black_box;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::subscriber::DefaultGuard;
use tracing_subscriber::layer::SubscriberExt as _;

#[tracing::instrument(level = "info", skip_all)]
#[inline(never)]
fn root(body: impl FnOnce()) {
    body();
}

#[tracing::instrument(level = "info", skip_all)]
#[inline(never)]
fn child(input: u64) -> u64 {
    black_box(input)
}

/// Registry + OpenTelemetry layer, current on this thread while the value lives.
#[derive(Debug)]
pub struct TracingOtel {
    provider: SdkTracerProvider,
    _dispatch: DefaultGuard,
}

impl TracingOtel {
    pub fn setup() -> Self {
        let provider = super::otel_sdk_peer::discarding_provider();
        let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("spanscope-benches"));
        let subscriber = tracing_subscriber::registry().with(layer);
        let dispatch = tracing::subscriber::set_default(subscriber);
        Self { provider, _dispatch: dispatch }
    }
}

impl Drop for TracingOtel {
    fn drop(&mut self) {
        // Only errors if already shut down; nothing to report in a bench.
        let _ = self.provider.shutdown();
    }
}

impl super::shape::Peer for TracingOtel {
    type Root = ();

    fn in_root(&self, body: impl FnOnce(&mut ())) {
        root(|| body(&mut ()));
    }

    fn child(&self, _root: &mut (), input: u64) -> u64 {
        child(input)
    }
}

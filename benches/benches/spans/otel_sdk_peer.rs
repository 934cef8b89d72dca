//! The OpenTelemetry SDK used directly: `SdkTracerProvider` with the default (parent-based
//! always-on) sampler and a `BatchSpanProcessor` whose exporter drops every batch; spans via
//! `Tracer::in_span`, which also makes each span the active context for its children.
//! [`discarding_provider`] is shared with the tracing + tracing-opentelemetry peer.

use std::hint::black_box;

use opentelemetry::trace::{Tracer as _, TracerProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider, SpanData, SpanExporter};

/// An exporter that accepts and drops every batch (it runs on the batch processor's thread).
#[derive(Debug)]
struct DiscardExporter;

impl SpanExporter for DiscardExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        drop(black_box(batch));
        Ok(())
    }
}

/// The setup a production service would use, minus the network: default sampler, batch
/// processor (its own export thread, bounded queue), an exporter that discards.
pub fn discarding_provider() -> SdkTracerProvider {
    SdkTracerProvider::builder().with_batch_exporter(DiscardExporter).build()
}

#[inline(never)]
fn child(tracer: &SdkTracer, input: u64) -> u64 {
    tracer.in_span("child", |_cx| black_box(input))
}

/// A tracer from [`discarding_provider`]; the provider is shut down on drop.
#[derive(Debug)]
pub struct OtelSdk {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
}

impl OtelSdk {
    pub fn setup() -> Self {
        let provider = discarding_provider();
        let tracer = provider.tracer("spanscope-benches");
        Self { provider, tracer }
    }
}

impl Drop for OtelSdk {
    fn drop(&mut self) {
        // Only errors if already shut down; nothing to report in a bench.
        let _ = self.provider.shutdown();
    }
}

impl super::shape::Peer for OtelSdk {
    type Root = ();

    fn in_root(&self, body: impl FnOnce(&mut ())) {
        self.tracer.in_span("root", |_cx| body(&mut ()));
    }

    fn child(&self, _root: &mut (), input: u64) -> u64 {
        child(&self.tracer, input)
    }
}

//! The OpenTelemetry bridge of propagation (feature `opentelemetry`): OpenTelemetry carriers
//! used as spanscope carriers, and spanscope's formats used as an OpenTelemetry
//! `TextMapPropagator`, so OpenTelemetry-instrumented code reads and writes sw8, Datadog and B3
//! the way spanscope does.

use opentelemetry::propagation::{self as otel, text_map_propagator::FieldIter, TextMapPropagator};
use opentelemetry::trace::{SpanContext, TraceContextExt, TraceFlags, TraceState};
use opentelemetry::Context;

use crate::id::{SpanId, TraceId};
use crate::propagation::{self, Extractor, Injector, Outgoing, Propagated, Propagator};
use crate::span::current;

/// An OpenTelemetry [`Extractor`](otel::Extractor) as a spanscope carrier:
/// `#[entry(headers = OtelExtractor(&carrier))]`.
#[derive(Clone, Copy)]
pub struct OtelExtractor<'a>(pub &'a dyn otel::Extractor);

/// An OpenTelemetry [`Injector`](otel::Injector) as a spanscope carrier:
/// `#[exit(peer = .., inject = &mut OtelInjector(&mut carrier))]`.
pub struct OtelInjector<'a>(pub &'a mut dyn otel::Injector);

impl std::fmt::Debug for OtelExtractor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("OtelExtractor").field(&self.0.keys()).finish()
    }
}

impl std::fmt::Debug for OtelInjector<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OtelInjector")
    }
}

impl Extractor for OtelExtractor<'_> {
    fn values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]>
    where
        Self: 'a,
    {
        self.0.get_all(name).unwrap_or_default().into_iter().map(str::as_bytes)
    }
}

impl Injector for OtelInjector<'_> {
    fn set(&mut self, name: &'static str, value: String) {
        self.0.set(name, value);
    }
}

/// spanscope's propagation formats as an OpenTelemetry `TextMapPropagator`.
///
/// Extraction puts the caller's context in the returned `Context` as a remote span context.
/// Injection writes the `Context`'s span; when it has none, the current spanscope span, so that
/// an OpenTelemetry-instrumented client called inside spanscope code passes the trace on
/// (including `sw8`, which needs spanscope's segment).
#[derive(Debug, Clone)]
pub struct SpanscopePropagator {
    propagators: Vec<Propagator>,
    fields: Vec<String>,
}

impl SpanscopePropagator {
    /// A propagator writing and reading `propagators`, in order.
    pub fn new(propagators: impl IntoIterator<Item = Propagator>) -> Self {
        let propagators: Vec<Propagator> = propagators.into_iter().collect();
        let fields = propagators.iter().flat_map(|p| p.fields()).map(|f| (*f).to_owned()).collect();
        Self { propagators, fields }
    }
}

impl Default for SpanscopePropagator {
    /// The configured propagators (`OTEL_PROPAGATORS`), or the default set before `init`.
    fn default() -> Self {
        Self::new(propagation::configured().iter().copied())
    }
}

impl TextMapPropagator for SpanscopePropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn otel::Injector) {
        let carrier = &mut OtelInjector(injector);
        let span = cx.span();
        let context = span.span_context();
        if !context.is_valid() {
            let headers = current::with_segment(|segment, index| {
                crate::span::headers::headers_with(&self.propagators, segment, index)
            });
            if let Some(headers) = headers {
                headers.write_to(carrier);
            }
            return;
        }
        let (Some(trace_id), Some(span_id)) = (
            TraceId::from_int(u128::from_be_bytes(context.trace_id().to_bytes())),
            SpanId::from_int(u64::from_be_bytes(context.span_id().to_bytes())),
        ) else {
            return;
        };
        let state = context.trace_state().header();
        let propagated = Propagated { trace_state: (!state.is_empty()).then_some(state), ..Propagated::default() };
        let outgoing = Outgoing {
            trace_id,
            span_id,
            parent_span_id: None,
            sampled: context.is_sampled(),
            flags: context.trace_flags().to_u8(),
            propagated: &propagated,
            sw8: None,
        };
        propagation::inject_outgoing(&self.propagators, &outgoing, carrier);
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn otel::Extractor) -> Context {
        let Some(parent) = propagation::extract_parent_with(&self.propagators, &OtelExtractor(extractor)) else {
            return cx.clone();
        };
        let trace_state =
            parent.propagated.trace_state.as_deref().and_then(|s| s.parse::<TraceState>().ok()).unwrap_or_default();
        cx.with_remote_span_context(SpanContext::new(
            opentelemetry::trace::TraceId::from_bytes(parent.trace_id.to_int().to_be_bytes()),
            opentelemetry::trace::SpanId::from_bytes(parent.span_id.to_int().to_be_bytes()),
            TraceFlags::new(parent.flags),
            true,
            trace_state,
        ))
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(&self.fields)
    }
}

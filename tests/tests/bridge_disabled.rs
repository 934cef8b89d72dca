//! The bridges with spanscope never initialised (a binary of its own, so nothing else
//! initialises it): OpenTelemetry spans are no-ops that still carry their parent's context,
//! and `tracing` spans are not bridged.

use opentelemetry::trace::{
    Span as _, SpanContext, TraceContextExt as _, TraceFlags, TraceState, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use spanscope::tracing::SpanExt as _;
use tracing_subscriber::layer::SubscriberExt as _;

#[spanscope::local(name = "disabled.local")]
fn local() -> Option<spanscope::SpanContext> {
    spanscope::current().context()
}

#[test]
fn otel_spans_are_no_ops_that_keep_their_parents_context() {
    let tracer = spanscope::opentelemetry::TracerProvider::default().tracer("tests");
    let mut orphan = tracer.start("disabled.orphan");
    assert!(!orphan.is_recording());
    assert!(!orphan.span_context().is_valid());
    orphan.set_attribute(KeyValue::new("ignored", 1));
    orphan.end();

    let remote = SpanContext::new(
        opentelemetry::trace::TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
        opentelemetry::trace::SpanId::from_hex("00f067aa0ba902b7").unwrap(),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    let cx = Context::new().with_remote_span_context(remote.clone());
    let child = tracer.start_with_context("disabled.child", &cx);
    assert!(!child.is_recording());
    assert_eq!(child.span_context(), &remote, "propagation still passes the parent on");
    assert!(!spanscope::opentelemetry::context().has_active_span());
}

#[test]
fn tracing_spans_are_not_bridged() {
    let subscriber = tracing_subscriber::registry().with(spanscope::tracing::layer());
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("disabled.tracing");
        let entered = span.enter();
        assert_eq!(local(), None);
        assert_eq!(span.spanscope_context(), None);
        drop(entered);
    });
}

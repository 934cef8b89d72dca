//! The bridges with spanscope never initialised (a binary of its own, so nothing else
//! initialises it): OpenTelemetry spans are no-ops that still carry their parent's context,
//! and `tracing` spans are not bridged.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::{Span as _, TraceContextExt as _, Tracer as _, TracerProvider as _};
use opentelemetry::KeyValue;
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

    let headers = HashMap::from([(
        "traceparent".to_owned(),
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned(),
    )]);
    let cx = spanscope::SpanscopePropagator::default().extract(&headers);
    let remote = cx.span().span_context().clone();
    assert!(remote.is_valid() && remote.is_remote());
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

//! The OpenTelemetry bridge: spans started through the OpenTelemetry API are recorded by
//! spanscope under the right parent, with their attributes, events and status; the current
//! spanscope span is an OpenTelemetry context.

use opentelemetry::trace::{
    Span as _, SpanContext, SpanKind, Status, TraceContextExt as _, TraceFlags, TraceState, Tracer as _,
    TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use spanscope::{entry, local};
use spanscope_tests::{exported, setup, SpanSet, CLIENT, INTERNAL, SERVER};

fn tracer() -> spanscope::opentelemetry::Tracer {
    spanscope::opentelemetry::TracerProvider::default().tracer("tests")
}

#[entry(name = "ot.handle")]
fn handle() {
    opentelemetry::global::tracer("lib").in_span("ot.query", |cx| {
        let span = cx.span();
        span.set_attribute(KeyValue::new("db.system", "postgres"));
        span.set_attribute(KeyValue::new("db.rows", 3));
        span.add_event("fetched", vec![KeyValue::new("rows", 3), KeyValue::new("cache", false)]);
        tracer().in_span("ot.nested", |_| {});
        local_inside();
        span.set_status(Status::error("timeout"));
    });
    let mut call = tracer()
        .span_builder("ot.call")
        .with_kind(SpanKind::Client)
        .with_attributes([KeyValue::new("server.address", "db"), KeyValue::new("server.port", 5432)])
        .start(&tracer());
    call.update_name("ot.call renamed");
    call.record_error(&std::io::Error::other("reset"));
    call.end();
}

#[local(name = "ot.local_inside")]
fn local_inside() {}

#[test]
fn otel_spans_inside_spanscope_spans_are_their_children() {
    let dir = setup();
    spanscope::opentelemetry::install();
    handle();
    let spans = exported(dir);
    let root = spans.named("ot.handle");
    assert_eq!(root.kind, SERVER);

    let query = spans.named("ot.query");
    query.assert_child_of(root);
    assert_eq!(query.kind, INTERNAL);
    assert_eq!(query.attributes["db.system"], "postgres");
    assert_eq!(query.attributes["db.rows"], 3);
    assert_eq!(query.events[0].0, "fetched");
    assert_eq!(query.events[0].1["rows"], 3);
    assert_eq!(query.events[0].1["cache"], false);
    assert_eq!(query.status_code, 2);
    assert_eq!(query.status_message.as_deref(), Some("timeout"));

    spans.named("ot.nested").assert_child_of(query);
    // The OpenTelemetry span is attached to OpenTelemetry's context, not entered in spanscope.
    spans.named("ot.local_inside").assert_child_of(root);

    let call = spans.named("ot.call renamed");
    call.assert_child_of(root);
    assert_eq!(call.kind, CLIENT);
    assert_eq!(call.attributes["server.address"], "db");
    assert_eq!(call.attributes["server.port"], 5432);
    assert_eq!(call.events[0].0, "exception");
    assert_eq!(call.events[0].1["exception.message"], "reset");
    assert_eq!(call.status_code, 0, "record_error does not set the status");
}

#[test]
fn a_remote_parent_context_starts_a_segment_continuing_its_trace() {
    let dir = setup();
    let remote = SpanContext::new(
        opentelemetry::trace::TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
        opentelemetry::trace::SpanId::from_hex("00f067aa0ba902b7").unwrap(),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    let cx = Context::new().with_remote_span_context(remote);
    let mut span = tracer().build_with_context(tracer().span_builder("ot.remote").with_kind(SpanKind::Server), &cx);
    assert!(span.is_recording());
    let context = span.span_context().clone();
    assert_eq!(context.trace_id(), cx.span().span_context().trace_id());
    span.end();
    assert!(!span.is_recording(), "an ended span records nothing");
    let spans = exported(dir);
    let continued = spans.named("ot.remote");
    assert_eq!(continued.kind, SERVER);
    assert_eq!(continued.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(continued.parent_span_id.as_deref(), Some("00f067aa0ba902b7"));
    assert_eq!(continued.span_id, context.span_id().to_string());
}

#[entry(name = "ot.continued", headers = headers)]
fn continued(headers: &std::collections::HashMap<String, String>) -> SpanContext {
    let span = tracer().start("ot.under_continued");
    span.span_context().clone()
}

#[test]
fn otel_spans_carry_their_trace_s_flags_and_tracestate_on() {
    let _dir = setup();
    let headers = std::collections::HashMap::from([
        ("traceparent".to_owned(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03".to_owned()),
        ("tracestate".to_owned(), "vendor=x,other=y".to_owned()),
    ]);
    // Under the current spanscope span, which continues a remote context.
    let context = continued(&headers);
    assert_eq!(context.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(context.trace_state().header(), "vendor=x,other=y");
    assert_eq!(context.trace_flags().to_u8(), 0x03, "sampled and random");

    // Under an OpenTelemetry parent.
    let remote = SpanContext::new(
        opentelemetry::trace::TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap(),
        opentelemetry::trace::SpanId::from_hex("b7ad6b7169203331").unwrap(),
        TraceFlags::new(0x03),
        true,
        TraceState::from_key_value([("vendor", "z")]).unwrap(),
    );
    let cx = Context::new().with_remote_span_context(remote);
    let child = tracer().start_with_context("ot.under_remote", &cx);
    assert_eq!(child.span_context().trace_state().header(), "vendor=z");
    assert_eq!(child.span_context().trace_flags().to_u8(), 0x03);

    // A span that begins its own trace has nothing to carry on.
    let root = tracer().start_with_context("ot.own_trace", &Context::new());
    assert_eq!(root.span_context().trace_state().header(), "");
}

#[local(name = "ot.ctx")]
fn with_context() -> Context {
    let cx = spanscope::opentelemetry::context();
    let mut child = tracer().start_with_context("ot.ctx_child", &cx);
    child.end();
    cx
}

#[test]
fn context_is_the_current_spanscope_span() {
    let dir = setup();
    let cx = with_context();
    let spans = exported(dir);
    let span = spans.named("ot.ctx");
    let context = cx.span().span_context().clone();
    assert!(!context.is_remote());
    assert!(context.is_sampled());
    assert_eq!(context.trace_id().to_string(), span.trace_id);
    assert_eq!(context.span_id().to_string(), span.span_id);
    let child = spans.named("ot.ctx_child");
    child.assert_child_of(span);
    assert_eq!(
        spans.segment_head(child).span_id,
        spans.segment_head(span).span_id,
        "under a span of the installed segment: recorded in it"
    );
}

#[entry(name = "ot.threads")]
fn threads() {
    let mut child = tracer().start("ot.moved_child");
    std::thread::spawn(move || {
        child.set_attribute(KeyValue::new("away", true));
        child.end();
    })
    .join()
    .unwrap();
}

#[test]
fn otel_spans_ended_on_another_thread() {
    let dir = setup();
    threads();
    // Outside any spanscope span: the span owns its segment, wherever it is used and ended.
    let mut owner = tracer().start("ot.owner");
    std::thread::spawn(move || {
        owner.set_attribute(KeyValue::new("away", true));
        owner.end();
    })
    .join()
    .unwrap();
    let spans = exported(dir);
    let root = spans.named("ot.threads");
    let child = spans.named("ot.moved_child");
    child.assert_child_of(root);
    assert_eq!(child.end, root.end, "ended away from its segment: closed with it");
    assert!(!child.attributes.contains_key("away"));
    let owner = spans.named("ot.owner");
    assert_eq!(owner.parent_span_id, None);
    assert_eq!(owner.attributes["away"], true);
}

//! Every carrier: `http::HeaderMap` and `http::Request` (by reference and `&mut`), tonic's
//! `MetadataMap`, `HashMap<String, String>`, and OpenTelemetry's carriers and propagator API.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use spanscope::{entry, exit, OtelExtractor, OtelInjector, Propagator, SpanscopePropagator};
use spanscope_tests::{exported, setup_with_sw8};

const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[entry(name = "from request", headers = request)]
fn from_request(request: &http::Request<()>) -> Option<spanscope::SpanContext> {
    spanscope::current().context()
}

#[exit(peer = "svc:1", inject = request)]
fn into_request(request: &mut http::Request<()>) {}

#[entry(name = "from metadata", headers = metadata)]
fn from_metadata(metadata: &tonic::metadata::MetadataMap) -> Option<spanscope::SpanContext> {
    let mut outgoing = tonic::metadata::MetadataMap::new();
    into_metadata(&mut outgoing);
    assert!(outgoing.get("traceparent").is_some() && outgoing.get("sw8").is_some());
    spanscope::current().context()
}

#[exit(peer = "grpc:50051", inject = outgoing)]
fn into_metadata(outgoing: &mut tonic::metadata::MetadataMap) {}

#[test]
fn http_requests_and_grpc_metadata_carry_the_context() {
    setup_with_sw8();
    let request = http::Request::builder().header("TraceParent", PARENT).body(()).unwrap();
    let context = from_request(&request).unwrap();
    assert_eq!(context.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");

    let mut request = http::Request::new(());
    root(|| into_request(&mut request));
    assert!(request.headers()["traceparent"].to_str().unwrap().starts_with("00-"));

    let mut metadata = tonic::metadata::MetadataMap::new();
    metadata.insert("traceparent", PARENT.parse().unwrap());
    let context = from_metadata(&metadata).unwrap();
    assert_eq!(context.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
}

#[spanscope::local(name = "root")]
fn root<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[test]
fn hash_maps_match_keys_case_insensitively_and_replace_on_inject() {
    setup_with_sw8();
    let incoming = HashMap::from([("TRACEPARENT".to_owned(), PARENT.to_owned())]);
    assert!(spanscope::extract(&incoming).is_some());
    let mut outgoing = HashMap::from([("TraceParent".to_owned(), "stale".to_owned())]);
    root(|| assert!(spanscope::inject(&mut outgoing)));
    assert!(!outgoing.contains_key("TraceParent"), "the old spelling is replaced");
    assert!(outgoing["traceparent"].starts_with("00-"));
    assert!(!spanscope::inject(&mut HashMap::new()), "nothing to inject outside a span");
}

#[test]
fn opentelemetry_carriers_and_propagator() {
    let dir = setup_with_sw8();
    // OpenTelemetry's carriers work with the macros through the wrappers.
    let incoming = HashMap::from([
        ("traceparent".to_owned(), PARENT.to_owned()),
        ("sw8-correlation".to_owned(), "a2V5:dmFsdWU=".to_owned()),
    ]);
    let context = from_otel(&incoming).unwrap();
    assert_eq!(context.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");

    // As a TextMapPropagator: extraction gives OpenTelemetry a remote span context...
    let propagator = SpanscopePropagator::new([Propagator::B3, Propagator::TraceContext]);
    let fields: Vec<&str> = propagator.fields().collect();
    assert_eq!(fields, ["b3", "traceparent", "tracestate"]);
    let cx = propagator.extract(&incoming);
    let span = cx.span();
    let remote = span.span_context();
    assert!(remote.is_remote() && remote.is_sampled());
    assert_eq!(remote.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(remote.span_id().to_string(), "00f067aa0ba902b7");

    // ...injection writes OpenTelemetry's span in every format...
    let mut outgoing = HashMap::new();
    propagator.inject_context(&cx, &mut outgoing);
    assert_eq!(outgoing["b3"], "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1");
    assert_eq!(outgoing["traceparent"], PARENT);

    // ...and with no OpenTelemetry span, the current spanscope span (sw8 included).
    let propagator = SpanscopePropagator::new([Propagator::Sw8]);
    let mut outgoing = HashMap::new();
    let id = root(|| {
        propagator.inject_context(&opentelemetry::Context::new(), &mut outgoing);
        spanscope::current().context().unwrap()
    });
    assert!(outgoing["sw8"].starts_with("1-"));
    let back = spanscope::extract_with(&[Propagator::Sw8], &outgoing).unwrap();
    assert_eq!((back.trace_id(), back.span_id()), (id.trace_id, id.span_id));
    assert!(exported(dir).iter().any(|s| s.span_id == id.span_id.to_string()));
}

#[entry(name = "from otel", headers = OtelExtractor(carrier))]
fn from_otel(carrier: &HashMap<String, String>) -> Option<spanscope::SpanContext> {
    assert_eq!(spanscope::baggage::get("key").as_deref(), Some("value"));
    let mut outgoing: HashMap<String, String> = HashMap::new();
    into_otel(&mut OtelInjector(&mut outgoing));
    assert!(outgoing.contains_key("traceparent"));
    spanscope::current().context()
}

#[exit(peer = "svc:2", inject = carrier)]
fn into_otel(carrier: &mut OtelInjector<'_>) {}

//! Runs the `distributed` example (two processes over HTTP on loopback) and checks what both
//! wrote: one trace, the callee's entry spans children of the caller's exit spans, and, with
//! `sw8` propagated too, the SkyWalking reference to the caller's segment filled in on the
//! callee's side.

use examples::run_example;
use spanscope_readback::{fresh_dir, read_spans, ExportedSpan, SpanSet, CLIENT, SERVER};

/// Runs the example with `env`; its spans, and each call with the span that served it.
fn run(label: &str, env: &[(&str, &str)]) -> Vec<ExportedSpan> {
    let out = fresh_dir(label);
    let output = run_example("distributed", &out, env);
    assert!(String::from_utf8_lossy(&output.stdout).contains("items in stock"));
    read_spans(&out.join("traces.jsonl"))
}

#[test]
fn w3c_context_links_both_services_by_default() {
    let spans = run("w3c", &[]);
    let checkout = spans.named("POST /checkout");
    assert!(spans.iter().all(|s| s.trace_id == checkout.trace_id), "one trace id across both processes");
    let calls: Vec<_> = spans.iter().filter(|s| s.name == "call_inventory").collect();
    assert_eq!(calls.len(), 3);
    for call in calls {
        let server = spans.iter().find(|s| s.parent_span_id.as_deref() == Some(&call.span_id)).expect("a child");
        assert_eq!((server.kind, server.service.as_str()), (SERVER, "inventory"));
        let (_, _, reference) = &server.links[0];
        assert_eq!(reference["spanscope.ref.type"], "cross_process");
        assert!(!reference.contains_key("skywalking.parent.service"), "no sw8 was sent");
    }
}

#[test]
fn one_trace_crosses_both_services_with_skywalking_references() {
    let spans = run("sw8", &[("OTEL_PROPAGATORS", "tracecontext,baggage,sw8")]);
    let checkout = spans.named("POST /checkout");
    assert_eq!(checkout.service, "checkout");
    assert!(spans.iter().all(|s| s.trace_id == checkout.trace_id), "one trace id across both processes");

    let calls: Vec<_> = spans.iter().filter(|s| s.name == "call_inventory").collect();
    let served: Vec<_> = spans.iter().filter(|s| s.name == "GET /stock/{item}").collect();
    assert_eq!((calls.len(), served.len()), (3, 3));
    for call in &calls {
        assert_eq!(call.kind, CLIENT);
        call.assert_child_of(checkout);
        assert_eq!(call.attributes["server.address"], "127.0.0.1");
        assert_eq!(call.attributes["http.response.status_code"], 200);
        let server = served.iter().find(|s| s.parent_span_id.as_deref() == Some(&call.span_id)).expect("a child");
        assert_eq!((server.kind, server.service.as_str()), (SERVER, "inventory"));
        let counted = spans.iter().find(|s| s.name == "count" && s.parent_span_id.as_deref() == Some(&server.span_id));
        assert!(counted.is_some(), "the callee's local span nests under its entry span");
        // The SkyWalking reference: the caller's service, instance, endpoint, segment and span.
        let (link_trace, link_span, reference) = &server.links[0];
        assert_eq!((link_trace, link_span), (&call.trace_id, &call.span_id));
        assert_eq!(reference["spanscope.ref.type"], "cross_process");
        assert_eq!(reference["skywalking.parent.service"], "checkout");
        assert!(reference["skywalking.parent.service_instance"].as_str().unwrap().contains('@'));
        assert_eq!(reference["skywalking.parent.endpoint"], "POST /checkout");
        assert_eq!(reference["skywalking.parent.segment_id"].as_str().unwrap().len(), 32);
        assert_eq!(
            reference["skywalking.parent.span_id"],
            i64::from(calls.iter().position(|c| c.span_id == call.span_id).unwrap() as u8 + 1)
        );
        assert!(reference["skywalking.network_address_used_at_peer"].as_str().unwrap().starts_with("127.0.0.1:"));
    }
}

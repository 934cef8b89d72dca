//! W3C `traceparent` through `#[entry(headers = ...)]` and `#[exit(inject = ...)]`.

use http::HeaderMap;
use spanscope::{entry, exit};
use spanscope_tests::{exported, setup, SpanSet};

const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[entry(name = "serve", headers = request)]
fn serve(request: &HeaderMap) -> HeaderMap {
    let mut outgoing = HeaderMap::new();
    call(&mut outgoing);
    outgoing
}

#[exit(peer = "backend:9000", inject = outgoing)]
fn call(outgoing: &mut HeaderMap) {}

#[test]
fn an_entry_continues_the_callers_trace_and_an_exit_passes_it_on() {
    let dir = setup();
    let mut incoming = HeaderMap::new();
    incoming.insert("traceparent", PARENT.parse().unwrap());
    incoming.insert("tracestate", "congo=t61rcWkgMzE".parse().unwrap());
    let outgoing = serve(&incoming);
    let spans = exported(dir);
    let trace = spans.in_trace("4bf92f3577b34da6a3ce929d0e0e4736");
    let server = trace.iter().find(|s| s.name == "serve").unwrap();
    let client = trace.iter().find(|s| s.name == "call").unwrap();
    assert_eq!(server.parent_span_id.as_deref(), Some("00f067aa0ba902b7"));
    assert_eq!(server.trace_state.as_deref(), Some("congo=t61rcWkgMzE"));
    client.assert_child_of(server);
    let sent = outgoing["traceparent"].to_str().unwrap();
    assert_eq!(sent, format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{}-01", client.span_id));
    assert_eq!(outgoing["tracestate"], format!("spanscope=p:{},congo=t61rcWkgMzE", client.span_id), "ours first");
}

#[test]
fn malformed_headers_start_a_new_trace_and_are_counted() {
    let dir = setup();
    let before = spanscope::stats();
    let mut bad = HeaderMap::new();
    bad.insert("traceparent", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01".parse().unwrap());
    let outgoing = serve(&bad);
    let mut twice = HeaderMap::new();
    twice.append("traceparent", PARENT.parse().unwrap());
    twice.append("traceparent", PARENT.parse().unwrap());
    let outgoing_twice = serve(&twice);
    let after = spanscope::stats();
    assert!(after.traceparent_malformed > before.traceparent_malformed);
    assert!(after.traceparent_duplicate > before.traceparent_duplicate);
    let spans = exported(dir);
    for out in [outgoing, outgoing_twice] {
        let sent = out["traceparent"].to_str().unwrap().to_owned();
        let trace = &sent[3..35];
        assert_ne!(trace, "4bf92f3577b34da6a3ce929d0e0e4736");
        let server = spans.in_trace(trace).into_iter().find(|s| s.name == "serve").unwrap();
        assert_eq!(server.parent_span_id, None, "a fresh trace has no parent");
    }
}

#[test]
fn an_unsampled_caller_is_followed_and_still_propagated() {
    let dir = setup();
    let mut incoming = HeaderMap::new();
    incoming.insert("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-02".parse().unwrap());
    let outgoing = serve(&incoming);
    let sent = outgoing["traceparent"].to_str().unwrap();
    assert!(sent.starts_with("00-0af7651916cd43dd8448eb211c80319c-"), "{sent}");
    assert!(sent.ends_with("-02"), "unsampled, random-trace-id flag kept: {sent}");
    assert!(exported(dir).in_trace("0af7651916cd43dd8448eb211c80319c").is_empty());
}

//! Head sampling with `OTEL_TRACES_SAMPLER=always_off`: nothing is recorded, contexts still
//! propagate marked unsampled, and the sampler's decision is followed downstream.

use http::HeaderMap;
use spanscope::{entry, exit, local};
use spanscope_tests::{finished, setup_in_memory};

#[entry(name = "unsampled root")]
fn root() -> HeaderMap {
    let mut headers = HeaderMap::new();
    nested(&mut headers);
    assert!(!spanscope::current().is_recording());
    assert!(spanscope::current().trace_id().is_some(), "the trace exists, unrecorded");
    headers
}

#[local]
fn nested(headers: &mut HeaderMap) {
    call(headers);
}

#[exit(peer = "db:5432", inject = headers)]
fn call(headers: &mut HeaderMap) {}

#[test]
fn always_off_records_nothing_and_still_propagates() {
    setup_in_memory(|c| c.sampler(spanscope::Sampler::AlwaysOff));
    let headers = root();
    let sent = headers["traceparent"].to_str().unwrap();
    assert!(sent.starts_with("00-") && sent.ends_with("-00"), "{sent}");
    assert!(finished().is_empty());
    assert_eq!(spanscope::stats().spans_exported, 0);
}

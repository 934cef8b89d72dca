//! The SkyWalking exporter against an in-process OAP built from the project's protocol files:
//! every field of macro-made segments, refs from `sw8` and across threads, instance properties
//! and heartbeats, the `authentication` token, a wrong token, and TLS.

use std::process::Command;
use std::time::{Duration, Instant};

use http::HeaderMap;
use spanscope::TracesExporter;
use spanscope_tests::collector::shop;
use spanscope_tests::collector::skywalking::proto::{RefType, SegmentObject, SpanLayer, SpanType};
use spanscope_tests::collector::skywalking::{self, Collector, Options};
use spanscope_tests::collector::{init, serial, tls, wait_until};
use spanscope_tests::fresh_dir;

const PATIENCE: Duration = Duration::from_secs(60);

/// An `sw8` header from a Java-style caller: trace "1", segment "5", exit span 3, service
/// "mesh", instance "instance", endpoint "/api/v1/health", address "example.com:8080".
const SW8: &str = "1-MQ==-NQ==-3-bWVzaA==-aW5zdGFuY2U=-L2FwaS92MS9oZWFsdGg=-ZXhhbXBsZS5jb206ODA4MA==";

fn segments_of(collector: &Collector, trace: &str) -> Vec<SegmentObject> {
    collector.received.lock().unwrap().segments.iter().filter(|s| s.trace_id == trace).cloned().collect()
}

fn tag<'a>(span: &'a spanscope_tests::collector::skywalking::proto::SpanObject, key: &str) -> Option<&'a str> {
    span.tags.iter().find(|t| t.key == key).map(|t| t.value.as_str())
}

#[test]
fn segments_carry_every_field_and_the_instance_keeps_alive() {
    let _serial = serial();
    let collector = Collector::start(Options { token: Some("s3cret".to_owned()), tls: None });
    let guard = init(
        TracesExporter::Skywalking,
        &[
            ("SW_AGENT_COLLECTOR_BACKEND_SERVICES", collector.addr().to_string()),
            ("SW_AGENT_AUTHENTICATION", "s3cret".to_owned()),
            ("SW_AGENT_COLLECTOR_HEARTBEAT_PERIOD", "1".to_owned()),
            ("SW_AGENT_INSTANCE_NAME", "checkout-1".to_owned()),
        ],
    );
    let mut headers = HeaderMap::new();
    headers.insert("sw8", SW8.parse().unwrap());
    assert!(shop::serve(&headers).is_err());
    wait_until("both segments", PATIENCE, || segments_of(&collector, "1").len() == 2);
    wait_until("a keepAlive", PATIENCE, || !collector.received.lock().unwrap().pings.is_empty());
    drop(guard);

    let segments = segments_of(&collector, "1");
    let main = segments.iter().find(|s| s.spans.len() == 5).expect("the entry's segment");
    let thread = segments.iter().find(|s| s.spans.len() == 1).expect("the thread's segment");
    for segment in &segments {
        assert_eq!(segment.service, "checkout");
        assert_eq!(segment.service_instance, "checkout-1");
        assert_eq!(segment.trace_segment_id.len(), 32);
        assert!(!segment.is_size_limited);
    }
    let span = |name: &str| main.spans.iter().find(|s| s.operation_name == name).unwrap_or_else(|| panic!("{name}"));

    let entry = span("GET /orders/{id}");
    assert_eq!((entry.span_id, entry.parent_span_id), (0, -1));
    assert_eq!(entry.span_type, SpanType::Entry as i32);
    assert_eq!(entry.span_layer, SpanLayer::Http as i32);
    assert_eq!(entry.component_id, 11000);
    assert!(entry.start_time > 1_600_000_000_000 && entry.end_time >= entry.start_time, "epoch ms");
    assert_eq!(tag(entry, "http.route"), Some("/orders/{id}"));
    assert_eq!(tag(entry, "order.items"), Some("3"));
    assert!(entry.is_error);
    assert_eq!(entry.refs.len(), 1);
    let reference = &entry.refs[0];
    assert_eq!(reference.ref_type, RefType::CrossProcess as i32);
    assert_eq!(reference.trace_id, "1");
    assert_eq!(reference.parent_trace_segment_id, "5");
    assert_eq!(reference.parent_span_id, 3);
    assert_eq!(reference.parent_service, "mesh");
    assert_eq!(reference.parent_service_instance, "instance");
    assert_eq!(reference.parent_endpoint, "/api/v1/health");
    assert_eq!(reference.network_address_used_at_peer, "example.com:8080");

    let price = span("price");
    assert_eq!(price.parent_span_id, entry.span_id);
    assert_eq!(price.span_type, SpanType::Local as i32);
    assert_eq!(price.span_layer, SpanLayer::Unknown as i32);
    assert!(price.refs.is_empty());
    assert_eq!(span("tax").parent_span_id, price.span_id);

    let reserve = span("reserve");
    assert_eq!(reserve.span_type, SpanType::Exit as i32);
    assert_eq!(reserve.peer, "inventory:8080");
    assert!(!reserve.is_error);

    let charge = span("charge");
    assert!(charge.is_error);
    let log = &charge.logs[0].data;
    let field = |key: &str| log.iter().find(|kv| kv.key == key).map(|kv| kv.value.as_str());
    assert_eq!(field("event"), Some("error"));
    assert_eq!(field("message"), Some("card declined"));
    assert!(field("error.kind").is_some_and(|kind| kind.ends_with("Declined")));
    assert!(charge.logs[0].time >= charge.start_time);

    let audit = &thread.spans[0];
    assert_eq!((audit.span_id, audit.parent_span_id), (0, -1));
    assert_eq!(audit.refs.len(), 1);
    let reference = &audit.refs[0];
    assert_eq!(reference.ref_type, RefType::CrossThread as i32);
    assert_eq!(reference.trace_id, "1");
    assert_eq!(reference.parent_trace_segment_id, main.trace_segment_id);
    assert_eq!(reference.parent_span_id, entry.span_id);
    assert_eq!(reference.parent_service, "checkout");
    assert_eq!(reference.parent_service_instance, "checkout-1");
    assert_eq!(reference.parent_endpoint, "GET /orders/{id}");
    assert_eq!(reference.network_address_used_at_peer, "");

    let received = collector.received.lock().unwrap();
    assert_eq!(received.token.as_deref(), Some("s3cret"));
    let properties = &received.properties[0];
    assert_eq!((properties.service.as_str(), properties.service_instance.as_str()), ("checkout", "checkout-1"));
    let property = |key: &str| properties.properties.iter().find(|kv| kv.key == key).map(|kv| kv.value.clone());
    assert_eq!(property("language").as_deref(), Some("rust"));
    assert_eq!(property("Process No."), Some(std::process::id().to_string()));
    assert!(property("hostname").is_some_and(|h| !h.is_empty()));
    assert!(property("OS Name").is_some());
    assert_eq!(received.pings[0].service_instance, "checkout-1");
}

#[test]
fn a_w3c_caller_gives_no_skywalking_ref_and_ids_default_sensibly() {
    let _serial = serial();
    let collector = Collector::start(Options::default());
    let guard =
        init(TracesExporter::Skywalking, &[("SW_AGENT_COLLECTOR_BACKEND_SERVICES", collector.addr().to_string())]);
    let _ = shop::serve(&shop::w3c_caller());
    wait_until("both segments", PATIENCE, || segments_of(&collector, shop::TRACE_ID).len() == 2);
    drop(guard);
    let segments = segments_of(&collector, shop::TRACE_ID);
    let main = segments.iter().find(|s| s.spans.len() == 5).unwrap();
    assert!(main.spans[0].refs.is_empty(), "a W3C-only caller has no SkyWalking ref");
    let (uuid, host) = main.service_instance.split_once('@').expect("<uuid>@<hostname>");
    assert_eq!(uuid.len(), 32);
    assert!(!host.is_empty());
}

#[test]
fn a_wrong_token_is_reported_once_without_the_secret_and_not_hammered() {
    let collector = Collector::start(Options { token: Some("right".to_owned()), tls: None });
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_fixture_export"))
        .arg("3000")
        .env("SPANSCOPE_OUT_DIR", fresh_dir("fixture"))
        .env("OTEL_TRACES_EXPORTER", "skywalking")
        .env("SW_AGENT_COLLECTOR_BACKEND_SERVICES", collector.addr().to_string())
        .env("SW_AGENT_AUTHENTICATION", "wrong-t0ken")
        .env("OTEL_BSP_SCHEDULE_DELAY", "20")
        .env("SPANSCOPE_EXPORT_MAX_BACKOFF", "1000")
        .env("SPANSCOPE_SHUTDOWN_TIMEOUT", "2000")
        .output()
        .expect("run fixture");
    let lifetime = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stderr.matches("refused our credentials").count(), 1, "{stderr}");
    assert!(stderr.contains("PermissionDenied"), "{stderr}");
    assert!(!stderr.contains("wrong-t0ken") && !stdout.contains("wrong-t0ken"), "{stderr}");
    assert!(stdout.contains("exported=0"), "{stdout}");
    // One attempt per max backoff (1 s) at most over the child's life (shutdown included); a
    // tight loop would make hundreds.
    let calls = collector.received.lock().unwrap().collect_calls;
    let most = lifetime.as_secs() as usize + 2;
    assert!((1..=most).contains(&calls), "{calls} collect calls in {lifetime:?}: a tight loop?");
}

#[test]
fn tls_with_a_self_signed_certificate() {
    let _serial = serial();
    let dir = fresh_dir("tls");
    let cert = tls::self_signed(&dir);
    let collector = Collector::start(Options { token: None, tls: skywalking::tls(&cert) });
    let guard = init(
        TracesExporter::Skywalking,
        &[
            ("SW_AGENT_COLLECTOR_BACKEND_SERVICES", format!("localhost:{}", collector.addr().port())),
            ("SW_AGENT_FORCE_TLS", "true".to_owned()),
            ("SW_AGENT_SSL_TRUSTED_CA_PATH", cert.cert_path.display().to_string()),
        ],
    );
    let _ = shop::serve(&shop::w3c_caller());
    wait_until("segments over TLS", PATIENCE, || segments_of(&collector, shop::TRACE_ID).len() == 2);
    drop(guard);
}

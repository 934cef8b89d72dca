//! The Datadog exporter against an in-process agent that decodes its msgpack independently:
//! every field of macro-made spans as Datadog's mapping has them.

use std::time::Duration;

use rmpv::Value;
use spanscope::TracesExporter;
use spanscope_tests::collector::datadog::{Agent, DdSpan};
use spanscope_tests::collector::shop;
use spanscope_tests::collector::{init, serial, wait_until};

fn meta<'a>(span: &'a DdSpan, key: &str) -> Option<&'a str> {
    span["meta"].as_map()?.iter().find(|(k, _)| k.as_str() == Some(key))?.1.as_str()
}

fn metric(span: &DdSpan, key: &str) -> Option<f64> {
    span["metrics"].as_map()?.iter().find(|(k, _)| k.as_str() == Some(key))?.1.as_f64()
}

fn uint(span: &DdSpan, key: &str) -> Option<u64> {
    span.get(key).and_then(Value::as_u64)
}

#[test]
fn spans_arrive_as_datadog_maps_them() {
    let _serial = serial();
    let agent = Agent::start();
    let guard = init(
        TracesExporter::Datadog,
        &[("DD_TRACE_AGENT_URL", agent.url()), ("DD_ENV", "prod".to_owned()), ("DD_VERSION", "2.0".to_owned())],
    );
    let _ = shop::serve(&shop::w3c_caller());
    let trace_low = u64::from_str_radix(&shop::TRACE_ID[16..], 16).unwrap();
    let count = || agent.received.lock().unwrap().spans().filter(|s| uint(s, "trace_id") == Some(trace_low)).count();
    wait_until("the shop trace", Duration::from_secs(60), || count() == 6);
    drop(guard);

    let received = agent.received.lock().unwrap();
    let headers = &received.headers[0];
    assert_eq!(headers["content-type"], "application/msgpack");
    assert_eq!(headers["datadog-meta-lang"], "rust");
    assert!(headers["x-datadog-trace-count"].to_str().unwrap().parse::<u32>().unwrap() >= 1);
    let spans: Vec<&DdSpan> = received.spans().filter(|s| uint(s, "trace_id") == Some(trace_low)).collect();
    let by_resource =
        |name: &str| *spans.iter().find(|s| s["resource"].as_str() == Some(name)).unwrap_or_else(|| panic!("{name}"));

    let entry = by_resource("GET /orders/{id}");
    assert_eq!(entry["service"].as_str(), Some("checkout"));
    assert_eq!(entry["name"].as_str(), Some("server.request"));
    assert_eq!(entry["type"].as_str(), Some("web"));
    assert_eq!(uint(entry, "parent_id"), Some(u64::from_str_radix(shop::PARENT_SPAN_ID, 16).unwrap()));
    assert_eq!(meta(entry, "_dd.p.tid"), Some(&shop::TRACE_ID[..16]));
    assert_eq!(meta(entry, "http.route"), Some("/orders/{id}"));
    assert_eq!(meta(entry, "span.kind"), Some("server"));
    assert_eq!(meta(entry, "env"), Some("prod"));
    assert_eq!(meta(entry, "version"), Some("2.0"));
    assert_eq!(metric(entry, "order.items"), Some(3.0));
    assert_eq!(metric(entry, "_sampling_priority_v1"), Some(1.0));
    assert_eq!(metric(entry, "_dd.top_level"), Some(1.0));
    assert!(entry["start"].as_i64().unwrap() > 1_600_000_000_000_000_000);
    assert!(entry["duration"].as_i64().unwrap() >= 0);
    let entry_id = uint(entry, "span_id").unwrap();

    let price = by_resource("price");
    assert_eq!(price["name"].as_str(), Some("internal"));
    assert_eq!(price["type"].as_str(), Some("custom"));
    assert_eq!(uint(price, "parent_id"), Some(entry_id));
    assert_eq!(uint(by_resource("tax"), "parent_id"), uint(price, "span_id"));

    let reserve = by_resource("reserve");
    assert_eq!(reserve["name"].as_str(), Some("client.request"));
    assert_eq!(reserve["type"].as_str(), Some("http"));
    assert_eq!(meta(reserve, "out.host"), Some("inventory"));
    assert_eq!(metric(reserve, "network.destination.port"), Some(8080.0));

    let charge = by_resource("charge");
    assert_eq!(charge["error"].as_i64(), Some(1));
    assert_eq!(meta(charge, "error.message"), Some("card declined"));
    assert!(meta(charge, "error.type").is_some_and(|t| t.ends_with("Declined")));
    assert!(reserve.get("error").is_none(), "error is omitted when 0");

    let audit = by_resource("audit");
    assert_eq!(uint(audit, "parent_id"), Some(entry_id), "the thread's segment continues the entry");
    assert_eq!(metric(audit, "_dd.top_level"), None, "a cross-thread segment is not top-level");
}

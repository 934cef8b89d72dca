//! `spanscope::testing::InMemoryExporter`: what a user's test gets back, in end order, beside
//! the exporters the configuration selects, with `clear`, and clones sharing one store.

use std::sync::{Mutex, MutexGuard};

use spanscope::profiler::ProfilerConfig;
use spanscope::testing::InMemoryExporter;
use spanscope::{Config, ErrorInfo, SpanKind, TracesExporter};

spanscope::tags! {
    /// The tenant served.
    pub tenant: &'static str,
    pub items: u32 = "order.items",
}

/// One spanscope at a time in this process: each test starts its own and drops it.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn config(exporter: &InMemoryExporter) -> Config {
    let quiet = Config::new().service_name("t").profiler(ProfilerConfig::new().enabled(false));
    quiet.exporters([]).exporter(exporter.clone())
}

#[spanscope::local(name = "price")]
fn price() -> u64 {
    spanscope::span::exit("GET /rates", "rates:8080").in_scope(|| 7)
}

#[test]
fn spans_come_back_in_end_order_with_what_they_recorded() {
    let _serial = serial();
    let exporter = InMemoryExporter::new();
    let guard = spanscope::init(config(&exporter));
    let mut root = spanscope::span::entry("POST /orders").tag::<tenant>("acme").enter();
    root.tag::<items>(3);
    root.log("validated");
    let context = root.context().unwrap();
    price();
    let mut failed = spanscope::span::local("reserve").enter();
    failed.record_error(ErrorInfo::new("Timeout", "inventory did not answer"));
    failed.end();
    root.end();
    assert!(spanscope::flush());

    let spans = exporter.spans();
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["GET /rates", "price", "reserve", "POST /orders"], "in the order they ended");
    let [rates, price, reserve, root] = &spans[..] else { unreachable!() };
    assert_eq!((root.kind, price.kind, rates.kind), (SpanKind::Entry, SpanKind::Local, SpanKind::Exit));
    assert_eq!((root.trace_id, root.span_id, root.parent_span_id), (context.trace_id, context.span_id, None));
    for child in [price, reserve] {
        assert_eq!((child.trace_id, child.parent_span_id), (root.trace_id, Some(root.span_id)));
    }
    assert_eq!(rates.parent_span_id, Some(price.span_id));
    assert_eq!((root.tag("tenant"), root.tag("order.items")), (Some("acme"), Some("3")));
    assert_eq!((rates.tag("server.address"), rates.tag("server.port")), (Some("rates"), Some("8080")));
    assert!(root.tags.contains(&("tenant".to_owned(), "acme".to_owned())));
    assert_eq!(root.logs, ["validated"]);
    assert_eq!(reserve.logs, ["exception"]);
    assert!(reserve.is_error && !root.is_error && !price.is_error);
    assert!(spans.iter().all(|s| s.start_time <= s.end_time && s.link.is_none()));
    assert!(root.start_time <= price.start_time && price.end_time <= root.end_time);
    let stats = spanscope::stats();
    let memory = stats.exporters.iter().find(|e| e.name == "memory").expect("listed in stats()");
    assert_eq!(memory.exported, 4);
    drop(guard);
}

#[test]
fn clones_share_one_store_and_clear_empties_it() {
    let _serial = serial();
    let exporter = InMemoryExporter::new();
    let reader = exporter.clone();
    let guard = spanscope::init(config(&exporter));
    spanscope::span::local("first").in_scope(|| {});
    assert!(spanscope::flush());
    assert_eq!(reader.spans().len(), 1, "a clone reads what the exporter took");
    reader.clear();
    assert!(exporter.spans().is_empty(), "clear empties the shared store");
    spanscope::span::local("second").in_scope(|| {});
    assert!(spanscope::flush());
    assert_eq!(exporter.spans().iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["second"]);
    drop(guard);
}

#[test]
fn it_runs_beside_the_exporters_the_environment_selects_and_links_continued_segments() {
    let _serial = serial();
    let exporter = InMemoryExporter::new();
    let dir = spanscope_tests::fresh_dir("beside-local");
    let config = config(&exporter).exporters([TracesExporter::Local]).out_dir(&dir);
    let guard = spanscope::init(config);
    let (captured, parent) = spanscope::span::local("producer")
        .in_scope(|| (spanscope::capture(), spanscope::current().context().unwrap().span_id));
    std::thread::spawn(move || captured.scope(|| spanscope::span::local("consumer").in_scope(|| {}))).join().unwrap();
    assert!(spanscope::flush());
    let from_file = spanscope_tests::read_spans(&dir.join("traces.jsonl"));
    let in_memory = exporter.spans();
    assert_eq!(from_file.len(), 2, "the local exporter still writes");
    let mut file_ids: Vec<String> = from_file.iter().map(|s| s.span_id.clone()).collect();
    let mut memory_ids: Vec<String> = in_memory.iter().map(|s| s.span_id.to_string()).collect();
    file_ids.sort();
    memory_ids.sort();
    assert_eq!(file_ids, memory_ids, "both take the same spans");
    let consumer = in_memory.iter().find(|s| s.name == "consumer").unwrap();
    let link = consumer.link.expect("a segment begun from a capture links its parent");
    assert_eq!((link.span_id, link.is_remote), (parent, false));
    drop(guard);
}

#[test]
fn unsampled_traces_leave_nothing() {
    let _serial = serial();
    let exporter = InMemoryExporter::new();
    let guard = spanscope::init(config(&exporter).sampler(spanscope::Sampler::AlwaysOff));
    spanscope::span::local("unsampled").in_scope(|| {});
    assert!(spanscope::flush());
    assert!(exporter.spans().is_empty());
    drop(guard);
}

//! The OTLP exporter against in-process receivers: every field of macro-made spans over gRPC
//! and HTTP, and the pipeline's behaviour when the receiver is absent, stops, never answers, or
//! takes 400,000 spans from 8 threads.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use http::StatusCode;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use spanscope::TracesExporter;
use spanscope_tests::collector::otlp::Collector;
use spanscope_tests::collector::shop::{self, PARENT_SPAN_ID, TRACE_ID};
use spanscope_tests::collector::{black_hole, free_addr, init, serial, tls, wait_until};
use spanscope_tests::fresh_dir;

const PATIENCE: Duration = Duration::from_secs(60);

fn attributes(kvs: &[KeyValue]) -> BTreeMap<String, Value> {
    kvs.iter().filter_map(|kv| Some((kv.key.clone(), kv.value.as_ref()?.value.clone()?))).collect()
}

fn string(value: &str) -> Value {
    Value::StringValue(value.to_owned())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every span of the `shop::serve` trace, by name.
fn shop_spans(collector: &Collector) -> BTreeMap<String, Span> {
    let received = collector.received.lock().unwrap();
    received.spans().filter(|s| hex(&s.trace_id) == TRACE_ID).map(|s| (s.name.clone(), s.clone())).collect()
}

#[test]
fn grpc_carries_every_field_of_macro_made_spans() {
    let _serial = serial();
    let collector = Collector::grpc();
    let guard = init(
        TracesExporter::Otlp,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url()),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=k%20ey,x-tenant=acme".to_owned()),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip".to_owned()),
            ("DD_ENV", "staging".to_owned()),
            ("DD_VERSION", "1.2.3".to_owned()),
        ],
    );
    assert!(shop::serve(&shop::w3c_caller()).is_err());
    wait_until("the shop trace", PATIENCE, || shop_spans(&collector).len() == 6);
    drop(guard);

    let spans = shop_spans(&collector);
    let id = |name: &str| hex(&spans[name].span_id);
    let parent = |name: &str| hex(&spans[name].parent_span_id);
    let serve = &spans["GET /orders/{id}"];
    assert_eq!(serve.kind, 2, "entry is SERVER");
    assert_eq!(parent("GET /orders/{id}"), PARENT_SPAN_ID);
    assert_eq!(serve.flags & 0x300, 0x300, "the parent is remote");
    let tags = attributes(&serve.attributes);
    assert_eq!(tags["http.route"], string("/orders/{id}"));
    assert_eq!(tags["order.items"], Value::IntValue(3));
    assert_eq!(serve.links.len(), 1, "the caller is the segment's link");
    assert_eq!(hex(&serve.links[0].span_id), PARENT_SPAN_ID);
    assert!(serve.start_time_unix_nano > 0 && serve.end_time_unix_nano >= serve.start_time_unix_nano);

    assert_eq!(spans["price"].kind, 1, "local is INTERNAL");
    assert_eq!(parent("price"), id("GET /orders/{id}"));
    assert_eq!(parent("tax"), id("price"));
    assert!(spans["tax"].start_time_unix_nano >= spans["price"].start_time_unix_nano);
    assert!(spans["tax"].end_time_unix_nano <= spans["price"].end_time_unix_nano);

    let reserve = &spans["reserve"];
    assert_eq!(reserve.kind, 3, "exit is CLIENT");
    let tags = attributes(&reserve.attributes);
    assert_eq!(tags["server.address"], string("inventory"));
    assert_eq!(tags["server.port"], Value::IntValue(8080));

    let charge = &spans["charge"];
    let status = charge.status.as_ref().expect("status");
    assert_eq!(status.code, 2, "error");
    assert_eq!(status.message, "card declined");
    assert_eq!(charge.events.len(), 1);
    assert_eq!(charge.events[0].name, "exception");
    assert_eq!(attributes(&charge.events[0].attributes)["exception.message"], string("card declined"));
    assert!(serve.status.as_ref().is_some_and(|s| s.code == 2), "the entry returned the error too");

    assert_eq!(parent("audit"), id("GET /orders/{id}"), "the thread continues the entry");
    assert_eq!(spans["audit"].flags & 0x300, 0x100, "a cross-thread parent is local");

    let received = collector.received.lock().unwrap();
    let resource = attributes(&received.requests[0].resource_spans[0].resource.as_ref().unwrap().attributes);
    assert_eq!(resource["service.name"], string("checkout"));
    assert_eq!(resource["service.version"], string("1.2.3"));
    assert_eq!(resource["deployment.environment.name"], string("staging"));
    assert_eq!(resource["telemetry.sdk.name"], string("spanscope"));
    assert_eq!(resource["telemetry.sdk.language"], string("rust"));
    assert!(matches!(&resource["service.instance.id"], Value::StringValue(id) if id.contains('@')));
    assert_eq!(received.headers["x-api-key"], "k ey");
    assert_eq!(received.headers["x-tenant"], "acme");
    assert_eq!(received.headers["grpc-encoding"], "gzip");
}

#[test]
fn http_protobuf_with_gzip_and_http_json_post_to_v1_traces() {
    let _serial = serial();
    for (protocol, gzip) in [("http/protobuf", "gzip"), ("http/json", "none")] {
        let collector = Collector::http(StatusCode::OK);
        let guard = init(
            TracesExporter::Otlp,
            &[
                ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.to_owned()),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url()),
                ("OTEL_EXPORTER_OTLP_COMPRESSION", gzip.to_owned()),
            ],
        );
        let _ = shop::serve(&shop::w3c_caller());
        assert!(spanscope::flush(), "{protocol}: flush");
        drop(guard);
        let received = collector.received.lock().unwrap();
        if protocol == "http/json" {
            let spans = &received.json[0]["resourceSpans"][0]["scopeSpans"][0]["spans"];
            assert_eq!(spans.as_array().map(Vec::len), Some(6), "{spans}");
            assert_eq!(received.headers["content-type"], "application/json");
        } else {
            assert_eq!(received.spans().filter(|s| hex(&s.trace_id) == TRACE_ID).count(), 6);
            assert_eq!(received.headers["content-type"], "application/x-protobuf");
            assert_eq!(received.headers["content-encoding"], "gzip");
        }
    }
}

#[test]
fn http_protobuf_over_tls_with_a_self_signed_certificate() {
    let _serial = serial();
    let dir = fresh_dir("otlp-tls");
    let cert = tls::self_signed(&dir);
    let collector = Collector::https(&cert);
    let guard = init(
        TracesExporter::Otlp,
        &[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("https://localhost:{}", collector.addr().port())),
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", cert.cert_path.display().to_string()),
        ],
    );
    let _ = shop::serve(&shop::w3c_caller());
    assert!(spanscope::flush(), "flush over TLS");
    drop(guard);
    assert_eq!(shop_spans(&collector).len(), 6);
}

#[test]
fn a_receiver_absent_at_start_gets_the_backlog_when_it_comes() {
    let _serial = serial();
    let before = spanscope::stats();
    let addr = free_addr();
    let guard = init(
        TracesExporter::Otlp,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{addr}")),
            ("SPANSCOPE_EXPORT_BACKLOG", "200".to_owned()),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "50".to_owned()),
            ("SPANSCOPE_EXPORT_MAX_BACKOFF", "200".to_owned()),
        ],
    );
    for _ in 0..1000 {
        shop::tick();
    }
    wait_until("a failed attempt", PATIENCE, || spanscope::stats().spans_retried > before.spans_retried);
    let collector = Collector::grpc_at(addr);
    wait_until("the backlog to drain", PATIENCE, || {
        let now = spanscope::stats();
        now.spans_exported - before.spans_exported + now.spans_dropped_backend_down - before.spans_dropped_backend_down
            == 1000
    });
    drop(guard);
    let after = spanscope::stats();
    let delivered = collector.span_count() as u64;
    assert_eq!(delivered, after.spans_exported - before.spans_exported);
    assert!((100..=200).contains(&delivered), "the newest backlog's worth arrives: {delivered}");
    assert_eq!(after.spans_dropped_backend_down - before.spans_dropped_backend_down, 1000 - delivered);
    assert_eq!(after.spans_dropped_queue_full, before.spans_dropped_queue_full, "{before:?} {after:?}");
}

#[test]
fn a_receiver_stopped_mid_run_loses_nothing_within_the_backlog() {
    let _serial = serial();
    let before = spanscope::stats();
    let mut collector = Collector::grpc();
    let guard = init(
        TracesExporter::Otlp,
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url()), ("SPANSCOPE_EXPORT_MAX_BACKOFF", "200".to_owned())],
    );
    for _ in 0..500 {
        shop::tick();
    }
    wait_until("the first half", PATIENCE, || collector.span_count() == 500);
    collector.stop();
    for _ in 0..500 {
        shop::tick();
    }
    wait_until("a failed attempt", PATIENCE, || spanscope::stats().spans_retried > before.spans_retried);
    collector.restart();
    wait_until("the second half", PATIENCE, || spanscope::stats().spans_exported - before.spans_exported == 1000);
    drop(guard);
    let received = collector.received.lock().unwrap();
    let unique: HashSet<Vec<u8>> = received.spans().map(|s| s.span_id.clone()).collect();
    assert_eq!(unique.len(), 1000, "every span arrived");
    let after = spanscope::stats();
    assert_eq!(after.spans_dropped_backend_down, before.spans_dropped_backend_down);
}

#[test]
fn several_exporters_at_once_and_a_dead_one_holds_nothing_back() {
    let _serial = serial();
    let before = spanscope::stats();
    let collector = Collector::grpc();
    let config = spanscope::Config::new()
        .service_name("checkout")
        .out_dir(fresh_dir("several"))
        .exporters([TracesExporter::Otlp, TracesExporter::Skywalking])
        .schedule_delay(Duration::from_millis(20))
        .var("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url())
        .var("SW_AGENT_COLLECTOR_BACKEND_SERVICES", free_addr().to_string())
        .var("SPANSCOPE_EXPORT_BACKLOG", "100")
        .var("SPANSCOPE_EXPORT_MAX_BACKOFF", "200")
        .var("SPANSCOPE_SHUTDOWN_TIMEOUT", "1000");
    let guard = spanscope::try_init(config).expect("init");
    for _ in 0..2000 {
        shop::tick();
    }
    wait_until("every span at the OTLP receiver", PATIENCE, || collector.span_count() == 2000);
    drop(guard);
    let after = spanscope::stats();
    assert_eq!(after.spans_exported - before.spans_exported, 2000, "all by OTLP, none by SkyWalking");
    let skywalking_lost = (after.spans_dropped_backend_down - before.spans_dropped_backend_down)
        + (after.spans_dropped_shutdown - before.spans_dropped_shutdown);
    assert_eq!(skywalking_lost, 2000, "SkyWalking's were dropped and counted");
    assert_eq!(after.spans_dropped_queue_full, before.spans_dropped_queue_full);
}

#[test]
fn shutdown_returns_by_its_deadline_when_the_receiver_never_answers() {
    let _serial = serial();
    let before = spanscope::stats();
    let hole = black_hole();
    let guard = init(
        TracesExporter::Otlp,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{}", hole.addr)),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "60000".to_owned()),
            ("SPANSCOPE_SHUTDOWN_TIMEOUT", "1000".to_owned()),
        ],
    );
    for _ in 0..100 {
        shop::tick();
    }
    let started = Instant::now();
    drop(guard);
    let took = started.elapsed();
    // The deadline is 1 s; the rest is slack for a loaded machine, far below the 60 s timeout.
    assert!(took < Duration::from_secs(10), "shutdown took {took:?}");
    let after = spanscope::stats();
    assert_eq!(after.spans_dropped_shutdown - before.spans_dropped_shutdown, 100, "undelivered spans are counted");
    assert_eq!(after.spans_exported, before.spans_exported);
}

#[test]
fn eight_threads_of_fifty_thousand_spans_arrive_exactly_once() {
    let _serial = serial();
    let before = spanscope::stats();
    let collector = Collector::grpc();
    // Segments of 50 spans: 8,000 of them fit the queue, so nothing may drop however slow the
    // machine is.
    let guard = init(
        TracesExporter::Otlp,
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url()), ("OTEL_BSP_MAX_QUEUE_SIZE", "8192".to_owned())],
    );
    let threads: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(|| {
                for _ in 0..1000 {
                    shop::batch(49);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    wait_until("400,000 spans", Duration::from_secs(300), || collector.span_count() >= 400_000);
    drop(guard);
    let received = collector.received.lock().unwrap();
    let ids: HashSet<(&[u8], &[u8])> = received.spans().map(|s| (&s.trace_id[..], &s.span_id[..])).collect();
    assert_eq!(received.spans().count(), 400_000, "no duplicates");
    assert_eq!(ids.len(), 400_000, "all distinct");
    let after = spanscope::stats();
    assert_eq!(after.spans_exported - before.spans_exported, 400_000);
    assert_eq!(after.spans_dropped_queue_full, before.spans_dropped_queue_full);
    assert_eq!(after.spans_retried, before.spans_retried);
}

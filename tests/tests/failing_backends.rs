//! Backends that fail in the ways production ones do, against several exporters at once: a
//! collector that accepts connections and never answers, one that refuses our credentials, one
//! that acknowledges with a body larger than the client reads.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::{BodyExt, Full};
use spanscope::TracesExporter;
use spanscope_tests::collector::otlp::Collector;
use spanscope_tests::collector::{black_hole, serial, serve_http, shop, wait_until, Server};
use spanscope_tests::{fresh_dir, read_spans};

const PATIENCE: Duration = Duration::from_secs(60);

fn config(exporters: &[TracesExporter], vars: &[(&str, String)]) -> (spanscope::Config, std::path::PathBuf) {
    let dir = fresh_dir("failing");
    let mut config = spanscope::Config::new()
        .service_name("checkout")
        .out_dir(&dir)
        .exporters(exporters.iter().copied())
        .schedule_delay(Duration::from_millis(20));
    for (name, value) in vars {
        config = config.var(*name, value.clone());
    }
    (config, dir)
}

#[test]
fn a_collector_that_never_answers_holds_no_other_exporter_back() {
    let _serial = serial();
    let before = spanscope::stats();
    let hole = black_hole();
    let (config, dir) = config(
        &[TracesExporter::Otlp, TracesExporter::Local],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{}", hole.addr)),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "30000".to_owned()),
            ("SPANSCOPE_EXPORT_BACKLOG", "100".to_owned()),
            ("SPANSCOPE_SHUTDOWN_TIMEOUT", "5000".to_owned()),
        ],
    );
    let guard = spanscope::try_init(config).expect("init");
    // 5,000 one-span segments in bursts of 100, each well within the 2,048-segment queue, and
    // all within the first 30 s attempt of the never-answering collector. A flush asked for on
    // the way cannot finish (the OTLP lane never delivers) and must not stop the rest meanwhile.
    const SPANS: usize = 5000;
    let mut flush = None;
    for burst in 0..SPANS / 100 {
        for _ in 0..100 {
            shop::tick();
        }
        if burst == 10 {
            flush = Some(std::thread::spawn(spanscope::flush));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(guard);
    assert!(!flush.unwrap().join().unwrap(), "the flush says not everything was delivered");
    let after = spanscope::stats();
    let local = read_spans(&dir.join("traces.jsonl")).len();
    let exporter = |prefix: &str| after.exporters.iter().find(|e| e.name.starts_with(prefix)).cloned().unwrap();
    let (otlp, written) = (exporter("otlp"), exporter("local"));
    let otlp_lost = otlp.dropped_backend_down + otlp.dropped_shutdown;
    eprintln!("local: {local} of {SPANS} written; otlp: {otlp:?}");
    assert_eq!(local, SPANS, "the local exporter gets every span");
    assert_eq!((written.exported, written.dropped_shutdown), (SPANS as u64, 0));
    assert_eq!((otlp.exported, otlp_lost), (0, SPANS as u64), "the hung exporter's spans are its own loss");
    // It held at most its backlog, or the batch in hand and the newest (512 spans at most each).
    assert!(otlp.dropped_backend_down >= (SPANS - 2 * 512) as u64, "{otlp:?}");
    assert_eq!(after.spans_dropped_queue_full, before.spans_dropped_queue_full, "nothing is lost before the exporters");
    // The process-wide counters are the exporters' sums.
    assert_eq!(after.spans_exported - before.spans_exported, written.exported + otlp.exported);
    assert_eq!(after.spans_dropped_backend_down - before.spans_dropped_backend_down, otlp.dropped_backend_down);
    assert_eq!(after.spans_dropped_shutdown - before.spans_dropped_shutdown, otlp.dropped_shutdown);
}

#[test]
fn flush_and_shutdown_do_not_wait_out_a_credential_pause() {
    let _serial = serial();
    let before = spanscope::stats();
    let collector = Collector::http(StatusCode::UNAUTHORIZED);
    let (config, _dir) = config(
        &[TracesExporter::Otlp],
        &[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url()),
            ("SPANSCOPE_EXPORT_MAX_BACKOFF", "60000".to_owned()),
            ("SPANSCOPE_SHUTDOWN_TIMEOUT", "30000".to_owned()),
        ],
    );
    let guard = spanscope::try_init(config).expect("init");
    shop::batch(9);
    wait_until("the refusal", PATIENCE, || {
        spanscope::stats().spans_dropped_rejected - before.spans_dropped_rejected == 10
    });
    // The lane now pauses a minute before its next attempt, with nothing left to send.
    let started = Instant::now();
    assert!(spanscope::flush(), "nothing is pending: the flush is done");
    let flush = started.elapsed();
    let started = Instant::now();
    drop(guard);
    let shutdown = started.elapsed();
    eprintln!("flush {flush:?}, shutdown {shutdown:?}");
    // Far below the 30 s deadline: slack for a loaded machine, not a measure of speed.
    assert!(flush < Duration::from_secs(15) && shutdown < Duration::from_secs(15), "{flush:?} {shutdown:?}");
    let after = spanscope::stats();
    assert_eq!(after.spans_dropped_shutdown, before.spans_dropped_shutdown);
    assert_eq!(collector.received.lock().unwrap().calls, 1);
}

/// An HTTP server answering every request 200 with a 2 MB body; counts the requests.
fn loud_acknowledger(requests: Arc<AtomicUsize>) -> Server {
    Server::start("127.0.0.1:0".parse().unwrap(), move |listener| async move {
        while let Ok((stream, _)) = listener.accept().await {
            let requests = Arc::clone(&requests);
            tokio::spawn(serve_http(stream, None, move |request| {
                let requests = Arc::clone(&requests);
                async move {
                    let _ = request.into_body().collect().await;
                    requests.fetch_add(1, Ordering::SeqCst);
                    let body = Bytes::from(vec![0u8; 2 << 20]);
                    Ok::<_, Infallible>(Response::new(Full::new(body)))
                }
            }));
        }
    })
}

#[test]
fn an_acknowledgement_with_a_large_body_is_one_delivery() {
    let _serial = serial();
    for exporter in ["otlp", "datadog"] {
        let before = spanscope::stats();
        let requests = Arc::new(AtomicUsize::new(0));
        let server = loud_acknowledger(Arc::clone(&requests));
        let url = format!("http://{}", server.addr);
        let (config, _dir) = match exporter {
            "otlp" => config(
                &[TracesExporter::Otlp],
                &[
                    ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", url),
                    ("SPANSCOPE_SHUTDOWN_TIMEOUT", "5000".to_owned()),
                ],
            ),
            _ => config(
                &[TracesExporter::Datadog],
                &[("DD_TRACE_AGENT_URL", url), ("SPANSCOPE_SHUTDOWN_TIMEOUT", "5000".to_owned())],
            ),
        };
        let guard = spanscope::try_init(config).expect("init");
        shop::batch(9);
        assert!(spanscope::flush(), "{exporter}: delivered");
        drop(guard);
        let after = spanscope::stats();
        assert_eq!(requests.load(Ordering::SeqCst), 1, "{exporter}: sent once");
        assert_eq!(after.spans_exported - before.spans_exported, 10, "{exporter}");
        assert_eq!(after.spans_retried, before.spans_retried, "{exporter}");
    }
}

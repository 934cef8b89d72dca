//! Export throughput, in one run on loopback: spans per second delivered to one in-process
//! OTLP/gRPC collector by spanscope and by the OpenTelemetry SDK (`BatchSpanProcessor` +
//! `opentelemetry-otlp` over tonic), with the same queue bound (in spans) and batch size; and
//! the application thread's cost per span while the collector accepts connections but never
//! answers.
//!
//! ```sh
//! cargo bench -p spanscope-benches --bench export      # EXPORT_BENCH_SECONDS=2 per run by default
//! ```
//!
//! Each library runs the same workload on one application thread: traces of one entry span
//! with nine local children (10 spans), offered at a fixed rate (paced) or as fast as the
//! thread can make them, for a few seconds; then it flushes. "Delivered/s" is the spans the
//! collector decoded divided by the time from the first span to the end of the flush; spans a
//! library dropped because its queue was full are made but not delivered. The highest
//! delivered/s over the offered rates is the library's throughput on this machine. "Peak RSS"
//! is the process's resident memory growth during the run, sampled every 5 ms (the allocator
//! reuses what earlier runs freed, so it is a bound, not an exact cost).

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry::trace::{Tracer as _, TracerProvider as _};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};

/// Spans per trace: one entry, nine children.
const SPANS_PER_TRACE: u64 = 10;
/// The queue bound, in spans, for both libraries (spanscope's queue counts segments).
const QUEUE_SPANS: usize = 20_480;
/// Spans per export request, for both.
const BATCH_SPANS: usize = 512;

#[spanscope::entry(name = "request")]
fn spanscope_trace() {
    for i in 0..SPANS_PER_TRACE - 1 {
        spanscope_child(i);
    }
}

#[spanscope::local(name = "work")]
fn spanscope_child(i: u64) -> u64 {
    black_box(i)
}

fn otel_trace(tracer: &opentelemetry_sdk::trace::SdkTracer) {
    tracer.in_span("request", |_| {
        for i in 0..SPANS_PER_TRACE - 1 {
            tracer.in_span("work", |_| black_box(i));
        }
    });
}

/// Counts the spans of every request it decodes.
#[derive(Debug, Clone, Default)]
struct Counter(Arc<AtomicU64>);

#[tonic::async_trait]
impl TraceService for Counter {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let spans: usize =
            request.get_ref().resource_spans.iter().flat_map(|r| &r.scope_spans).map(|s| s.spans.len()).sum();
        self.0.fetch_add(spans as u64, Ordering::Relaxed);
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// The collector: a one-worker runtime of its own, like a sidecar sharing the machine.
fn collector(runtime: &tokio::runtime::Runtime) -> (String, Counter) {
    let counter = Counter::default();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
    let addr = listener.local_addr().expect("address");
    let service = TraceServiceServer::new(counter.clone()).max_decoding_message_size(64 << 20);
    runtime.spawn(async move {
        let incoming = tokio_stream_of(listener);
        let _ = tonic::transport::Server::builder().add_service(service).serve_with_incoming(incoming).await;
    });
    (format!("http://{addr}"), counter)
}

fn tokio_stream_of(
    listener: tokio::net::TcpListener,
) -> impl tonic::codegen::tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    struct Incoming(tokio::net::TcpListener);
    impl tonic::codegen::tokio_stream::Stream for Incoming {
        type Item = std::io::Result<tokio::net::TcpStream>;
        fn poll_next(
            self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            self.0.poll_accept(cx).map(|accepted| Some(accepted.map(|(stream, _)| stream)))
        }
    }
    Incoming(listener)
}

/// A server that accepts connections and never reads or answers.
fn black_hole(runtime: &tokio::runtime::Runtime) -> String {
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
    let addr = listener.local_addr().expect("address");
    runtime.spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("http://{addr}")
}

/// Resident memory now, in bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm.split_whitespace().nth(1).and_then(|pages| pages.parse::<u64>().ok()).unwrap_or(0) * 4096
}

/// Samples RSS every 5 ms until dropped; reports the peak growth.
struct RssPeak {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<u64>>,
}

impl RssPeak {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let base = rss();
        let thread = std::thread::spawn(move || {
            let mut peak = base;
            while !flag.load(Ordering::Relaxed) {
                peak = peak.max(rss());
                std::thread::sleep(Duration::from_millis(5));
            }
            peak.saturating_sub(base)
        });
        Self { stop, thread: Some(thread) }
    }

    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().map_or(0, |t| t.join().unwrap_or(0))
    }
}

#[derive(Debug)]
struct Row {
    library: &'static str,
    offered: Option<u64>,
    produced: u64,
    delivered: u64,
    elapsed: Duration,
    app_ns_per_span: f64,
    peak_rss: u64,
}

impl Row {
    fn print(&self) {
        println!(
            "| {} | {} | {} | {} | {:.2} s | {:.0} | {:.0} | {:.1} MiB |",
            self.library,
            self.offered.map_or_else(|| "unpaced".to_owned(), |rate| rate.to_string()),
            self.produced,
            self.delivered,
            self.elapsed.as_secs_f64(),
            self.delivered as f64 / self.elapsed.as_secs_f64(),
            self.app_ns_per_span,
            self.peak_rss as f64 / (1 << 20) as f64,
        );
    }
}

/// Makes traces with `produce` for `duration`, at `rate` spans/s if given, then `flush`es;
/// measures what the collector got.
fn measure(
    library: &'static str,
    rate: Option<u64>,
    duration: Duration,
    counter: &Counter,
    produce: &dyn Fn(),
    flush: &dyn Fn(),
) -> Row {
    let before = counter.0.load(Ordering::Relaxed);
    let peak = RssPeak::start();
    let start = Instant::now();
    let mut traces = 0u64;
    let mut producing = Duration::ZERO;
    while start.elapsed() < duration {
        let chunk = Instant::now();
        for _ in 0..100 {
            produce();
        }
        producing += chunk.elapsed();
        traces += 100;
        if let Some(rate) = rate {
            let due = start + Duration::from_secs_f64((traces * SPANS_PER_TRACE) as f64 / rate as f64);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
    }
    flush();
    let elapsed = start.elapsed();
    let peak_rss = peak.finish();
    let spans = traces * SPANS_PER_TRACE;
    Row {
        library,
        offered: rate,
        produced: spans,
        delivered: counter.0.load(Ordering::Relaxed) - before,
        elapsed,
        app_ns_per_span: producing.as_nanos() as f64 / spans as f64,
        peak_rss,
    }
}

fn spanscope_config(endpoint: &str) -> spanscope::Config {
    spanscope::Config::new()
        .service_name("bench")
        .exporters([spanscope::TracesExporter::Otlp])
        .max_queue_size(QUEUE_SPANS / SPANS_PER_TRACE as usize)
        .max_export_batch_size(BATCH_SPANS)
        .var("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        // What the lane holds beyond the queue: the same bound again.
        .var("SPANSCOPE_EXPORT_BACKLOG", QUEUE_SPANS.to_string())
}

/// Offered loads, spans/s; `None` is as fast as the application thread goes.
const RATES: [Option<u64>; 5] = [Some(250_000), Some(500_000), Some(1_000_000), Some(2_000_000), None];

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken.
    let seconds: f64 = std::env::var("EXPORT_BENCH_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(2.0);
    let duration = Duration::from_secs_f64(seconds);
    let servers = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let (endpoint, counter) = collector(&servers);
    println!(
        "{} cores; traces of {SPANS_PER_TRACE} spans from one application thread, {seconds} s per run; queue {QUEUE_SPANS} spans, batches of {BATCH_SPANS}\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "| library | offered spans/s | spans made | delivered | time | delivered/s | app ns/span | peak RSS growth |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");

    let guard = spanscope::init(spanscope_config(&endpoint).shutdown_timeout(Duration::from_secs(120)));
    let flush = || assert!(spanscope::flush(), "flush timed out");
    let mut best_spanscope: f64 = 0.0;
    for rate in RATES {
        let row = measure("spanscope", rate, duration, &counter, &spanscope_trace, &flush);
        row.print();
        best_spanscope = best_spanscope.max(row.delivered as f64 / row.elapsed.as_secs_f64());
    }
    drop(guard);

    // The OpenTelemetry SDK: the exporter's tonic channel lives on its own runtime (it must be
    // built inside one); the batch processor's thread drives exports with `block_on`.
    let otel_runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let exporter = {
        let _context = otel_runtime.enter();
        opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(&endpoint)
            .build()
            .expect("OTLP exporter")
    };
    let config =
        BatchConfigBuilder::default().with_max_queue_size(QUEUE_SPANS).with_max_export_batch_size(BATCH_SPANS).build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(BatchSpanProcessor::builder(exporter).with_batch_config(config).build())
        .build();
    let tracer = provider.tracer("bench");
    let produce = || otel_trace(&tracer);
    let flush = || {
        let _ = provider.force_flush();
    };
    let mut best_otel: f64 = 0.0;
    for rate in RATES {
        let row = measure("opentelemetry_sdk + opentelemetry-otlp", rate, duration, &counter, &produce, &flush);
        row.print();
        best_otel = best_otel.max(row.delivered as f64 / row.elapsed.as_secs_f64());
    }
    let _ = provider.shutdown();
    println!(
        "\nbest delivered/s: spanscope {best_spanscope:.0}, OpenTelemetry SDK {best_otel:.0} ({:.1}x)",
        best_spanscope / best_otel
    );

    // The application thread while the collector never answers.
    let hole = black_hole(&servers);
    println!("\n| spanscope, unpaced, collector | app ns/span | dropped: queue full | dropped: at shutdown | peak RSS growth |");
    println!("| --- | --- | --- | --- | --- |");
    for (label, endpoint) in [("answering", endpoint.as_str()), ("never answering", hole.as_str())] {
        let before = spanscope::stats();
        let peak = RssPeak::start();
        let guard = spanscope::init(spanscope_config(endpoint).shutdown_timeout(Duration::from_millis(500)));
        let start = Instant::now();
        let mut traces = 0u64;
        while start.elapsed() < duration {
            for _ in 0..100 {
                spanscope_trace();
            }
            traces += 100;
        }
        let ns = start.elapsed().as_nanos() as f64 / (traces * SPANS_PER_TRACE) as f64;
        drop(guard);
        let peak_rss = peak.finish();
        let after = spanscope::stats();
        println!(
            "| {label} | {ns:.0} | {} | {} | {:.1} MiB |",
            after.spans_dropped_queue_full - before.spans_dropped_queue_full,
            after.spans_dropped_shutdown - before.spans_dropped_shutdown,
            peak_rss as f64 / (1 << 20) as f64
        );
    }
}

//! The logs bench's and the `logs-hot-path` bin's shared setup (included by both with
//! `#[path]`: this crate has no library): spanscope's configuration, and the OpenTelemetry SDK's
//! logs with an exporter that counts and discards.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use opentelemetry_sdk::logs::{BatchConfigBuilder, BatchLogProcessor, LogBatch, LogExporter, SdkLoggerProvider};

/// Records each library's queue holds.
pub const QUEUE: usize = 1 << 20;
/// Records made between two drains of the queues: well within [`QUEUE`].
pub const RUN: u64 = 1 << 16;

/// spanscope with logs to `local` in `dir` and nothing else exported, the profiler off, no
/// per-call-site rate limit and a queue of [`QUEUE`] records.
pub fn spanscope_config(service: &str, dir: &Path) -> spanscope::Config {
    spanscope::Config::new()
        .service_name(service)
        .out_dir(dir)
        .var("OTEL_LOGS_EXPORTER", "local")
        .var("OTEL_TRACES_EXPORTER", "none")
        .var("OTEL_METRICS_EXPORTER", "none")
        .var("SPANSCOPE_PROFILER", "off")
        .var("SPANSCOPE_LOGS_RATE_LIMIT", "0")
        .var("OTEL_BLRP_MAX_QUEUE_SIZE", QUEUE.to_string())
}

/// The OpenTelemetry SDK's exporter that counts the records of each batch and keeps nothing.
#[derive(Debug, Default)]
struct Discard(Arc<AtomicU64>);

impl LogExporter for Discard {
    async fn export(&self, batch: LogBatch<'_>) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.fetch_add(batch.iter().count() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// An `SdkLoggerProvider` with a `BatchLogProcessor` of [`QUEUE`] records whose exporter
/// discards: what a service runs minus the network; and the count of records exported.
pub fn otel_provider() -> (SdkLoggerProvider, Arc<AtomicU64>) {
    let discard = Discard::default();
    let exported = Arc::clone(&discard.0);
    let processor = BatchLogProcessor::builder(discard)
        .with_batch_config(BatchConfigBuilder::default().with_max_queue_size(QUEUE).build())
        .build();
    (SdkLoggerProvider::builder().with_log_processor(processor).build(), exported)
}

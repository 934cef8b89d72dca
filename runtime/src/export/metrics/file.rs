//! The `local` metrics exporter: each collection as one line of OTLP/JSON in `metrics.jsonl`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::error::InitError;
use crate::export::jsonl::JsonLines;
use crate::export::metrics::json;
use crate::export::resource::Resource;
use crate::export::{ExportError, Exporter, Sent};
use crate::metrics::snapshot::Snapshot;

/// Appends each collection to `metrics.jsonl` in the output folder as one line, an
/// `ExportMetricsServiceRequest` as the OpenTelemetry Collector's file exporter writes them, with
/// cumulative values: the newest line holds every series' total since `init`. A collection with
/// no points writes nothing.
#[derive(Debug)]
pub(crate) struct MetricsFile {
    name: String,
    lines: JsonLines,
    resource: Arc<Resource>,
    /// Collections written.
    collections: u64,
    /// `OTEL_METRIC_EXPORT_TIMEOUT`.
    timeout: Duration,
}

impl MetricsFile {
    /// Appends to `dir/metrics.jsonl`, keeping at most `max_bytes` of metrics in `dir`.
    pub(crate) fn open(
        dir: &Path,
        resource: Arc<Resource>,
        max_bytes: u64,
        timeout: Duration,
    ) -> Result<Self, InitError> {
        let lines = JsonLines::open(dir, "metrics", max_bytes)?;
        Ok(Self { name: format!("local ({})", lines.path().display()), lines, resource, collections: 0, timeout })
    }
}

impl Exporter for MetricsFile {
    type Load = Snapshot;
    /// The line; empty for a collection with no points.
    type Payload = Vec<u8>;

    fn name(&self) -> &str {
        &self.name
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    fn encode(&mut self, snapshot: &Snapshot) -> Vec<u8> {
        let mut line = Vec::new();
        if !snapshot.metrics.is_empty() {
            json::encode(snapshot, &self.resource, &mut line);
            line.push(b'\n');
        }
        line
    }

    async fn send(&mut self, line: &Vec<u8>) -> Result<Sent, ExportError> {
        if !line.is_empty() {
            self.lines.write(line).map_err(ExportError::Io)?;
            self.collections += 1;
        }
        Ok(Sent::default())
    }

    fn flush(&mut self) {
        self.lines.flush();
    }

    fn shutdown(&mut self) {
        self.lines.flush();
        if self.collections > 0 {
            stderr_line!(
                "spanscope: wrote {} metric collection{} to {}{}",
                self.collections,
                if self.collections == 1 { "" } else { "s" },
                self.lines.path().display(),
                self.lines.rotated_note()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::env::Vars;
    use crate::config::Config;
    use crate::metrics::snapshot::{Metric, Number, Point, PointValue, Temporality};
    use crate::metrics::{InstrumentKind, InstrumentMeta, ValueKind};

    static REQUESTS: InstrumentMeta = InstrumentMeta {
        name: "app.requests",
        unit: "{request}",
        description: "",
        kind: InstrumentKind::Counter,
        value: ValueKind::U64,
        scope: ("app", "1.0.0"),
        buckets: &[],
    };

    fn snapshot(value: u64) -> Snapshot {
        let point = Point {
            series: 0,
            attributes: Arc::from(Vec::new()),
            value: PointValue::Sum(Number::U64(value)),
            exemplars: Vec::new(),
        };
        let metric =
            Metric { meta: &REQUESTS, temporality: Temporality::Cumulative, start_unix_nanos: 1, points: vec![point] };
        Snapshot { start_unix_nanos: 1, time_unix_nanos: 2, metrics: vec![metric] }
    }

    fn exporter(name: &str, max_bytes: u64) -> (std::path::PathBuf, MetricsFile) {
        let dir = std::env::temp_dir().join(format!("spanscope-metrics-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let resource = Resource::new(&Config::new().service_name("app").resolve(&Vars::of(&[])).unwrap());
        let exporter = MetricsFile::open(&dir, Arc::new(resource), max_bytes, Duration::from_secs(30)).unwrap();
        (dir, exporter)
    }

    #[tokio::test]
    async fn each_collection_is_one_line_and_empty_ones_none() {
        let (dir, mut exporter) = exporter("lines", 1 << 20);
        for value in [1, 5] {
            let line = exporter.encode(&snapshot(value));
            exporter.send(&line).await.unwrap();
        }
        let empty = exporter.encode(&Snapshot { start_unix_nanos: 1, time_unix_nanos: 3, metrics: Vec::new() });
        exporter.send(&empty).await.unwrap();
        let text = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let values: Vec<String> = text
            .lines()
            .map(|line| {
                let request: serde_json::Value = serde_json::from_str(line).unwrap();
                let metric = &request["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0];
                metric["sum"]["dataPoints"][0]["asInt"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(values, ["1", "5"]);
        assert_eq!(exporter.collections, 2);
    }

    #[tokio::test]
    async fn metrics_rotate_within_their_share_of_the_folder() {
        let (dir, mut exporter) = exporter("rotate", 4_000);
        let line = exporter.encode(&snapshot(7));
        for _ in 0..100 {
            exporter.send(&line).await.unwrap();
        }
        let size = |name: &str| std::fs::metadata(dir.join(name)).map_or(0, |m| m.len());
        let (current, previous) = (size("metrics.jsonl"), size("metrics.1.jsonl"));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(100 * line.len() as u64 > 4 * 4_000, "the test writes well past the budget");
        assert!(exporter.lines.rotations() > 4, "{}", exporter.lines.rotations());
        assert!(current + previous <= 4_000 + 2 * line.len() as u64, "{current} + {previous}");
    }
}

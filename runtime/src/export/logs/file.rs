//! The `local` logs exporter, the default: each batch of records as one line of OTLP/JSON in
//! `logs.jsonl`.

use std::path::Path;
use std::time::Duration;

use crate::error::InitError;
use crate::export::jsonl::JsonLines;
use crate::export::logs::otlp::json::RequestWriter;
use crate::export::logs::LogBatch;
use crate::export::resource::Resource;
use crate::export::{ExportError, Exporter, Sent};

/// Appends each batch to `logs.jsonl` in the output folder as one line, an
/// `ExportLogsServiceRequest` as the OpenTelemetry Collector's file exporter writes them, in one
/// write (see [`JsonLines`]). Logs keep 2/16 of `SPANSCOPE_OUT_MAX_MB`; past it, the oldest
/// lines go first.
#[derive(Debug)]
pub(crate) struct LogsFile {
    name: String,
    lines: JsonLines,
    requests: RequestWriter,
    /// Records written.
    records: u64,
    /// `OTEL_BLRP_EXPORT_TIMEOUT`.
    timeout: Duration,
}

/// A batch's line and how many records it holds.
#[derive(Debug)]
pub(crate) struct Line {
    text: Vec<u8>,
    records: u64,
}

impl LogsFile {
    /// Appends to `dir/logs.jsonl`, keeping at most `max_bytes` of logs in `dir`.
    pub(crate) fn open(dir: &Path, resource: &Resource, max_bytes: u64, timeout: Duration) -> Result<Self, InitError> {
        let lines = JsonLines::open(dir, "logs", max_bytes)?;
        Ok(Self {
            name: format!("local ({})", lines.path().display()),
            lines,
            requests: RequestWriter::new(resource),
            records: 0,
            timeout,
        })
    }
}

impl Exporter for LogsFile {
    type Load = LogBatch;
    /// The line; empty for a batch without records.
    type Payload = Line;

    fn name(&self) -> &str {
        &self.name
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    fn encode(&mut self, batch: &LogBatch) -> Line {
        let mut text = Vec::new();
        if !batch.records.is_empty() {
            text.reserve(self.requests.size_hint(batch));
            self.requests.write(&mut text, batch);
            text.push(b'\n');
        }
        Line { text, records: batch.records.len() as u64 }
    }

    async fn send(&mut self, line: &Line) -> Result<Sent, ExportError> {
        if !line.text.is_empty() {
            self.lines.write(&line.text).map_err(ExportError::Io)?;
            self.records += line.records;
        }
        Ok(Sent::default())
    }

    fn flush(&mut self) {
        self.lines.flush();
    }

    fn shutdown(&mut self) {
        self.lines.flush();
        if self.records > 0 {
            stderr_line!(
                "spanscope: wrote {} log record{} to {}{}",
                self.records,
                if self.records == 1 { "" } else { "s" },
                self.lines.path().display(),
                self.lines.rotated_note()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;

    use super::*;
    use crate::clock::Converter;
    use crate::config::env::Vars;
    use crate::config::Config;
    use crate::export::logs::otlp::model::tests::{everything, record};

    fn exporter(name: &str, max_bytes: u64) -> (std::path::PathBuf, LogsFile) {
        let dir = std::env::temp_dir().join(format!("spanscope-logs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let resource = Resource::new(&Config::new().service_name("app").resolve(&Vars::of(&[])).unwrap());
        let exporter = LogsFile::open(&dir, &resource, max_bytes, Duration::from_secs(30)).unwrap();
        (dir, exporter)
    }

    #[tokio::test]
    async fn each_batch_is_one_request_on_one_line() {
        let (dir, mut exporter) = exporter("lines", 1 << 20);
        for batch in [everything(), LogBatch { records: Vec::new(), clock: Converter::current() }, everything()] {
            let line = exporter.encode(&batch);
            exporter.send(&line).await.unwrap();
        }
        exporter.shutdown();
        let text = std::fs::read_to_string(dir.join("logs.jsonl")).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let requests: Vec<ExportLogsServiceRequest> =
            text.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
        assert_eq!(requests.len(), 2, "an empty batch writes nothing");
        let records = |r: &ExportLogsServiceRequest| {
            r.resource_logs.iter().flat_map(|r| &r.scope_logs).map(|s| s.log_records.len()).sum::<usize>()
        };
        assert_eq!((records(&requests[0]), records(&requests[1])), (3, 3));
        assert_eq!(exporter.records, 6);
    }

    #[tokio::test]
    async fn logs_rotate_within_their_share_of_the_folder() {
        let (dir, mut exporter) = exporter("rotate", 4_000);
        let batch = LogBatch { records: vec![record("app", 1, &"x".repeat(200), &[])], clock: Converter::current() };
        let line = exporter.encode(&batch);
        for _ in 0..100 {
            exporter.send(&line).await.unwrap();
        }
        let size = |name: &str| std::fs::metadata(dir.join(name)).map_or(0, |m| m.len());
        let (current, previous) = (size("logs.jsonl"), size("logs.1.jsonl"));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(100 * line.text.len() as u64 > 4 * 4_000, "the test writes well past the budget");
        assert!(exporter.lines.rotations() > 4, "{}", exporter.lines.rotations());
        assert!(current + previous <= 4_000 + 2 * line.text.len() as u64, "{current} + {previous}");
    }
}

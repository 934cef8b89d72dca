//! The embedded default exporter: OTLP/JSON lines in a local folder, no server needed.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::otlp_json::RequestWriter;
use super::resource::Resource;
use super::{Batch, ExportError, Exporter, Sent};
use crate::global::InitError;
use crate::span::RefKind;

/// Appends each finished segment to `traces.jsonl` as one line of OTLP/JSON (an
/// `ExportTraceServiceRequest`), written once per batch so lines from several processes
/// sharing the folder never interleave.
#[derive(Debug)]
pub(crate) struct LocalExporter {
    name: String,
    path: PathBuf,
    file: File,
    requests: RequestWriter,
    spans: u64,
    /// Segments that began their trace in this process (the rest continue one from here).
    traces: u64,
}

impl LocalExporter {
    pub(crate) fn open(dir: &Path, resource: Arc<Resource>) -> Result<Self, InitError> {
        let path = dir.join("traces.jsonl");
        let io = |error| InitError::Io { path: path.clone(), error };
        std::fs::create_dir_all(dir).map_err(io)?;
        let file = OpenOptions::new().create(true).append(true).open(&path).map_err(io)?;
        Ok(Self {
            name: format!("local ({})", path.display()),
            path,
            file,
            requests: RequestWriter::new(&resource),
            spans: 0,
            traces: 0,
        })
    }
}

/// A batch's lines, and what it adds to the totals reported at exit.
#[derive(Debug)]
pub(crate) struct Lines {
    text: Vec<u8>,
    spans: u64,
    traces: u64,
}

impl Exporter for LocalExporter {
    type Load = Batch;
    type Payload = Lines;

    fn name(&self) -> &str {
        &self.name
    }

    fn timeout(&self) -> Duration {
        // A local write does not hang in a way a timeout could help with.
        Duration::MAX
    }

    fn encode(&mut self, batch: &Batch) -> Lines {
        let mut text = Vec::with_capacity(self.requests.size_hint(batch.segments.len(), batch.spans));
        for segment in &batch.segments {
            self.requests.write(&mut text, [&**segment], &batch.clock);
            text.push(b'\n');
        }
        let traces =
            batch.segments.iter().filter(|s| s.parent.as_ref().is_none_or(|p| p.kind == RefKind::CrossProcess)).count()
                as u64;
        Lines { text, spans: batch.spans, traces }
    }

    async fn send(&mut self, lines: &Lines) -> Result<Sent, ExportError> {
        self.file.write_all(&lines.text).map_err(ExportError::Io)?;
        self.spans += lines.spans;
        self.traces += lines.traces;
        Ok(Sent::default())
    }

    fn flush(&mut self) {
        // Write errors were counted and reported as they happened.
        let _ = self.file.flush();
    }

    fn shutdown(&mut self) {
        let _ = self.file.flush();
        if self.spans > 0 {
            eprintln!("spanscope: wrote {} spans of {} traces to {}", self.spans, self.traces, self.path.display());
        }
    }
}

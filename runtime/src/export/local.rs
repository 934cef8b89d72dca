//! The embedded default exporter: OTLP/JSON lines in a local folder, no server needed.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{otlp_json, Batch, Exporter};
use crate::global::InitError;
use crate::span::RefKind;

/// Appends each finished segment to `traces.jsonl` as one line of OTLP/JSON, written once per
/// batch so lines from several processes sharing the folder never interleave.
#[derive(Debug)]
pub(crate) struct LocalExporter {
    path: PathBuf,
    file: File,
    buffer: String,
    spans: u64,
    /// Segments that began their trace in this process (the rest continue one from here).
    traces: u64,
}

impl LocalExporter {
    pub(crate) fn open(dir: &Path) -> Result<Self, InitError> {
        let path = dir.join("traces.jsonl");
        let io = |error| InitError::Io { path: path.clone(), error };
        std::fs::create_dir_all(dir).map_err(io)?;
        let file = OpenOptions::new().create(true).append(true).open(&path).map_err(io)?;
        Ok(Self { path, file, buffer: String::new(), spans: 0, traces: 0 })
    }
}

impl Exporter for LocalExporter {
    fn export(&mut self, batch: &Batch<'_>) -> std::io::Result<()> {
        self.buffer.clear();
        for segment in batch.segments {
            otlp_json::encode_segment(&mut self.buffer, segment, batch);
        }
        self.file.write_all(self.buffer.as_bytes())?;
        for segment in batch.segments {
            self.spans += segment.spans.len() as u64;
            self.traces += u64::from(segment.parent.as_ref().is_none_or(|p| p.kind == RefKind::CrossProcess));
        }
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }

    fn shutdown(&mut self) {
        let _ = self.file.flush();
        if self.spans > 0 {
            eprintln!(
                "spanscope: wrote {} spans of {} traces to {}",
                self.spans,
                self.traces,
                self.path.display()
            );
        }
    }
}

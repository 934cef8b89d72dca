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

/// Appends each batch of finished segments to `traces.jsonl` as one line of OTLP/JSON (an
/// `ExportTraceServiceRequest`, as the OpenTelemetry Collector's file exporter writes them), in
/// one write so that lines from several processes sharing the folder never interleave. A line
/// per batch rather than per segment writes the resource once per batch: it was a fifth of the
/// bytes, and the bytes a busy service writes are what its disk's writeback pays for.
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
        let mut text = Vec::with_capacity(self.requests.size_hint(batch.spans));
        self.requests.write(&mut text, batch.segments.iter().map(|segment| &**segment), &batch.clock);
        text.push(b'\n');
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

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::clock::Converter;
    use crate::config::Config;
    use crate::id::{SpanId, TraceId};
    use crate::span::{ParentContext, Propagated, Segment, SpanKind};

    /// A segment of one span, continuing a trace from another process when `remote`.
    fn segment(trace: u128, remote: bool) -> Box<Segment> {
        let trace_id = TraceId::from_int(trace).unwrap();
        let parent = remote.then(|| ParentContext {
            kind: RefKind::CrossProcess,
            trace_id,
            span_id: SpanId::from_int(9).unwrap(),
            sampled: true,
            flags: 1,
            segment: None,
            endpoint: None,
            sw8: None,
            sent_at_ms: None,
            propagated: Propagated::default(),
        });
        let mut segment = Segment::boxed(trace_id, true, parent, Cow::Borrowed("GET /"), SpanKind::Entry, 10, 16);
        segment.end_span(0, 20, None);
        segment
    }

    #[test]
    fn a_batch_is_one_line_with_the_resource_once() {
        let settings = Config::new().service_name("cart").resolve(&|_| None).unwrap();
        let dir = std::env::temp_dir().join(format!("spanscope-local-{}", std::process::id()));
        let mut exporter = LocalExporter::open(&dir, Arc::new(Resource::new(&settings))).unwrap();
        let segments = vec![segment(1, false), segment(2, true), segment(3, false)];
        let lines = exporter.encode(&Batch { segments, spans: 3, clock: Converter::current() });
        let _ = std::fs::remove_dir_all(&dir);

        let text = std::str::from_utf8(&lines.text).unwrap();
        assert_eq!(text.matches('\n').count(), 1, "{text}");
        assert!(text.ends_with('\n'));
        let request: serde_json::Value = serde_json::from_str(text).unwrap();
        let resource_spans = request["resourceSpans"].as_array().unwrap();
        assert_eq!(resource_spans.len(), 1);
        assert_eq!(resource_spans[0]["resource"]["attributes"][0]["value"]["stringValue"], "cart");
        let trace_ids: Vec<&str> = resource_spans[0]["scopeSpans"][0]["spans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|span| span["traceId"].as_str().unwrap())
            .collect();
        assert_eq!(trace_ids.len(), 3);
        assert!(trace_ids[2].ends_with("03"), "{trace_ids:?}");
        // Each segment begins a trace here, or continues one from another process.
        assert_eq!((lines.spans, lines.traces), (3, 3));
    }
}

//! Reading back what spanscope's local exporter writes to a folder: the spans of its
//! `traces.jsonl`, the OTLP/JSON it is, the collections of its `metrics.jsonl`, the records of
//! its `logs.jsonl`, and the samples of its `cpu-*.pb.gz` and `alloc-*.pb.gz` pprof profiles; and
//! fresh folders for it to write to. The test harness (`spanscope-tests`) and the `shop` demo's
//! report both read with these, and nothing here needs more than std, serde_json and the
//! runtime's pprof types.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub mod alloc_profiles;
pub mod logs;
pub mod metrics;
pub mod profiles;

/// One exported span, flattened out of its `ExportTraceServiceRequest` line.
#[derive(Debug, Clone)]
pub struct ExportedSpan {
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub name: String,
    /// OTLP `SpanKind`: 1 internal, 2 server, 3 client.
    pub kind: u64,
    pub start: u128,
    pub end: u128,
    pub attributes: BTreeMap<String, Value>,
    pub events: Vec<(String, BTreeMap<String, Value>)>,
    /// OTLP status code: 0 unset, 2 error.
    pub status_code: u64,
    pub status_message: Option<String>,
    pub trace_state: Option<String>,
    /// Links: `(trace id, span id, attributes)`.
    pub links: Vec<(String, String, BTreeMap<String, Value>)>,
    /// The resource's `service.name`.
    pub service: String,
}

pub const INTERNAL: u64 = 1;
pub const SERVER: u64 = 2;
pub const CLIENT: u64 = 3;

/// A new empty folder under the system temp folder, `spanscope-<test>-<pid>-<label>-<n>`. The
/// first call of a process removes the folders earlier runs of the same test left (those whose
/// process is gone), so that runs do not pile up output.
pub fn fresh_dir(label: &str) -> PathBuf {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let exe = std::env::current_exe().ok();
    let binary = exe.as_deref().and_then(Path::file_stem).and_then(|s| s.to_str()).unwrap_or("test");
    // The test's name, without the hash cargo appends (it differs between builds).
    let test = binary.rsplit_once('-').map_or(binary, |(name, _)| name);
    let prefix = format!("spanscope-{test}-");
    if n == 0 {
        remove_stale(&prefix);
    }
    let dir = std::env::temp_dir().join(format!("{prefix}{}-{label}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create test folder");
    dir
}

/// Removes the temp folders named `<prefix><pid>-...` whose process no longer runs.
fn remove_stale(prefix: &str) {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let pid = name.to_str().and_then(|n| n.strip_prefix(prefix)).and_then(|rest| rest.split('-').next());
        if pid.is_some_and(|pid| pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Every span of a `traces.jsonl` file.
pub fn read_spans(path: &Path) -> Vec<ExportedSpan> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut spans = Vec::new();
    for (line, json) in text.lines().enumerate() {
        let request: Value =
            serde_json::from_str(json).unwrap_or_else(|e| panic!("line {line} is not JSON: {e}: {json}"));
        for resource_spans in array(&request["resourceSpans"]) {
            let resource = attributes(&resource_spans["resource"]["attributes"]);
            let service = resource.get("service.name").and_then(Value::as_str).unwrap_or_default().to_owned();
            for scope_spans in array(&resource_spans["scopeSpans"]) {
                for span in array(&scope_spans["spans"]) {
                    spans.push(ExportedSpan {
                        trace_id: string(&span["traceId"]),
                        span_id: string(&span["spanId"]),
                        parent_span_id: span["parentSpanId"].as_str().map(str::to_owned),
                        name: string(&span["name"]),
                        kind: span["kind"].as_u64().expect("numeric kind"),
                        start: nanos(&span["startTimeUnixNano"]),
                        end: nanos(&span["endTimeUnixNano"]),
                        attributes: attributes(&span["attributes"]),
                        events: array(&span["events"])
                            .iter()
                            .map(|e| (string(&e["name"]), attributes(&e["attributes"])))
                            .collect(),
                        status_code: span["status"]["code"].as_u64().unwrap_or(0),
                        status_message: span["status"]["message"].as_str().map(str::to_owned),
                        trace_state: span["traceState"].as_str().map(str::to_owned),
                        links: array(&span["links"])
                            .iter()
                            .map(|l| (string(&l["traceId"]), string(&l["spanId"]), attributes(&l["attributes"])))
                            .collect(),
                        service: service.clone(),
                    });
                }
            }
        }
    }
    spans
}

fn array(value: &Value) -> &[Value] {
    value.as_array().map_or(&[], Vec::as_slice)
}

fn string(value: &Value) -> String {
    value.as_str().unwrap_or_else(|| panic!("expected a string, got {value}")).to_owned()
}

/// OTLP/JSON encodes 64-bit times as decimal strings.
fn nanos(value: &Value) -> u128 {
    value.as_str().unwrap_or_else(|| panic!("times are strings, got {value}")).parse().expect("decimal nanoseconds")
}

/// `[{key, value: {stringValue|intValue|doubleValue|boolValue}}]` as a map to plain JSON values.
fn attributes(value: &Value) -> BTreeMap<String, Value> {
    array(value)
        .iter()
        .map(|kv| {
            let v = &kv["value"];
            let plain = if let Some(s) = v.get("stringValue") {
                s.clone()
            } else if let Some(i) = v.get("intValue") {
                Value::from(i.as_str().expect("intValue is a string").parse::<i64>().expect("decimal"))
            } else if let Some(d) = v.get("doubleValue") {
                d.clone()
            } else {
                v["boolValue"].clone()
            };
            (string(&kv["key"]), plain)
        })
        .collect()
}

/// Queries over a set of exported spans.
pub trait SpanSet {
    /// The only span called `name`.
    fn named(&self, name: &str) -> &ExportedSpan;
    /// Every span of `trace_id`.
    fn in_trace(&self, trace_id: &str) -> Vec<&ExportedSpan>;
    /// The span with id `span_id`.
    fn by_id(&self, span_id: &str) -> &ExportedSpan;
    /// The first span of the segment `span` was recorded in: up `span`'s ancestors to the one
    /// that begins a segment, which is a span with no parent among these or one whose parent
    /// is its segment's reference (the link with `spanscope.ref.type`).
    fn segment_head<'a>(&'a self, span: &'a ExportedSpan) -> &'a ExportedSpan;
}

impl SpanSet for [ExportedSpan] {
    fn named(&self, name: &str) -> &ExportedSpan {
        let found: Vec<_> = self.iter().filter(|s| s.name == name).collect();
        assert_eq!(found.len(), 1, "expected one span named {name:?}, found {}", found.len());
        found[0]
    }

    fn in_trace(&self, trace_id: &str) -> Vec<&ExportedSpan> {
        self.iter().filter(|s| s.trace_id == trace_id).collect()
    }

    fn by_id(&self, span_id: &str) -> &ExportedSpan {
        self.iter().find(|s| s.span_id == span_id).unwrap_or_else(|| panic!("no span {span_id}"))
    }

    fn segment_head<'a>(&'a self, mut span: &'a ExportedSpan) -> &'a ExportedSpan {
        loop {
            let begins = span.links.iter().any(|(_, _, attributes)| attributes.contains_key("spanscope.ref.type"));
            match span.parent_span_id.as_deref().and_then(|id| self.iter().find(|s| s.span_id == id)) {
                Some(parent) if !begins => span = parent,
                _ => return span,
            }
        }
    }
}

impl ExportedSpan {
    /// Asserts this span's parent is `parent`, in the same trace.
    pub fn assert_child_of(&self, parent: &ExportedSpan) {
        assert_eq!(self.trace_id, parent.trace_id, "{} and {} are in different traces", self.name, parent.name);
        assert_eq!(
            self.parent_span_id.as_deref(),
            Some(parent.span_id.as_str()),
            "{} is not a child of {}",
            self.name,
            parent.name
        );
        assert!(self.start >= parent.start, "{} starts before its parent {}", self.name, parent.name);
    }
}

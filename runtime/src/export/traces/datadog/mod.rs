//! The Datadog exporter: MessagePack traces `POST`ed to the agent's `/v0.4/traces`
//! (`DD_TRACE_AGENT_URL`, else `http://DD_AGENT_HOST:DD_TRACE_AGENT_PORT`, a port from 1 to
//! 65535, default `localhost:8126`; `unix:///path` for the agent's socket).
//!
//! Each batch is an array of trace chunks (the batch's segments grouped by trace), each an array
//! of span maps, mapped as Datadog's OpenTelemetry mapping does: 64-bit trace id (the low half;
//! the high half as 16 hex digits in `_dd.p.tid` on each chunk's first span), our 64-bit span
//! ids, `service` from the service name (`DD_SERVICE` or `OTEL_SERVICE_NAME`), operation `name`
//! from the span kind and its conventional attributes (`http.server.request`,
//! `postgresql.query`, `server.request`, `internal`...), `resource` `"<METHOD> <route>"` for HTTP
//! servers and the span name otherwise, `type` `web`/`http`/`sql`/`custom`. String and bool tags
//! go in `meta`, numbers in `metrics`; an error sets `error` and `error.message`/`error.type`;
//! other logs go in `meta.events` as JSON, as the tracers do for agents without span events.

mod msgpack;

use std::collections::HashMap;
use std::io::Write as _;
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue};

use crate::clock::Converter;
use crate::config::env::{parse_count, Vars};
use crate::config::ConfigError;
use crate::export::resource::Resource;
use crate::export::traces::datadog::msgpack::Writer;
use crate::export::traces::otlp::json::push_json_string;
use crate::export::traces::otlp::model::split_host_port;
use crate::export::transport::http_client::{self, HttpClient, HttpTarget};
use crate::export::{Batch, ExportError, Exporter, Sent};
use crate::span::{RefKind, Segment, SpanKind};
use crate::tag::TagValue;

/// The Datadog exporter's settings.
#[derive(Debug, Clone)]
pub(crate) struct DatadogSettings {
    pub target: HttpTarget,
}

impl DatadogSettings {
    pub(crate) fn resolve(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        let base = match vars.get("DD_TRACE_AGENT_URL")? {
            Some((name, url)) => HttpTarget::parse(name, &url)?,
            None => {
                let host =
                    vars.get("DD_AGENT_HOST")?.map_or_else(|| "localhost".to_owned(), |(_, h)| h.trim().to_owned());
                let port = vars.read("DD_TRACE_AGENT_PORT", |var| parse_count(var, 1..=u16::MAX))?.unwrap_or(8126);
                let host = if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host };
                HttpTarget::parse("DD_AGENT_HOST", &format!("http://{host}:{port}"))?
            }
        };
        Ok(Self { target: base.with_path("/v0.4/traces") })
    }
}

/// Sends batches to a Datadog agent.
#[derive(Debug)]
pub(crate) struct DatadogExporter {
    name: String,
    client: HttpClient,
    timeout: Duration,
    service: String,
    env: Option<String>,
    version: Option<String>,
}

/// An encoded batch and the number of trace chunks in it (the agent wants the count in a header).
#[derive(Debug)]
pub(crate) struct Traces {
    body: Bytes,
    count: usize,
}

impl DatadogExporter {
    pub(crate) fn new(config: DatadogSettings, resource: &Resource, timeout: Duration) -> Self {
        Self {
            name: format!("datadog ({})", config.target),
            client: HttpClient::new(config.target),
            timeout,
            service: resource.service.clone(),
            env: resource.environment(),
            version: resource.get("service.version"),
        }
    }
}

impl Exporter for DatadogExporter {
    type Load = Batch;
    type Payload = Traces;

    fn name(&self) -> &str {
        &self.name
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    fn encode(&mut self, batch: &Batch) -> Traces {
        // Chunks: the batch's segments grouped by trace, in arrival order.
        let mut chunks: Vec<Vec<&Segment>> = Vec::new();
        let mut index: HashMap<u128, usize> = HashMap::new();
        for segment in &batch.segments {
            let slot = *index.entry(segment.trace_id.to_int()).or_insert_with(|| {
                chunks.push(Vec::new());
                chunks.len() - 1
            });
            chunks[slot].push(segment);
        }
        let mut out = Writer::default();
        out.array(chunks.len());
        for chunk in &chunks {
            out.array(chunk.iter().map(|s| s.spans.len()).sum());
            for segment in chunk {
                for index in 0..segment.spans.len() as u32 {
                    self.write_span(&mut out, segment, index, &batch.clock);
                }
            }
        }
        Traces { body: out.buf.into(), count: chunks.len() }
    }

    async fn send(&mut self, traces: &Traces) -> Result<Sent, ExportError> {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/msgpack"));
        headers.insert("x-datadog-trace-count", HeaderValue::from(traces.count));
        headers.insert("datadog-meta-lang", HeaderValue::from_static("rust"));
        headers.insert("datadog-meta-tracer-version", HeaderValue::from_static(env!("CARGO_PKG_VERSION")));
        let answer = self.client.post(&headers, traces.body.clone()).await?;
        http_client::check_status(&answer)?;
        Ok(Sent::default())
    }
}

impl DatadogExporter {
    fn write_span(&self, out: &mut Writer, segment: &Segment, index: u32, clock: &Converter) {
        let span = &segment.spans[index as usize];
        let trace_id = segment.trace_id.to_int();
        let tags: Vec<(&str, &TagValue)> = segment
            .tags
            .iter()
            .filter(|(i, _, _)| *i == index)
            .map(|(_, meta, value)| (meta.wire_name(), value))
            .collect();
        let tag = |keys: &[&str]| tags.iter().find(|(k, _)| keys.contains(k)).map(|(_, v)| v.to_string());
        let method = tag(&["http.request.method", "http.method"]);
        let db = tag(&["db.system.name", "db.system"]);
        let rpc = tag(&["rpc.system.name", "rpc.system"]);
        let name = match (span.kind, &method, &db, &rpc) {
            (SpanKind::Entry, Some(_), _, _) => "http.server.request".to_owned(),
            (SpanKind::Exit, Some(_), _, _) => "http.client.request".to_owned(),
            (SpanKind::Exit, None, Some(db), _) => format!("{db}.query"),
            (SpanKind::Entry, None, _, Some(rpc)) => format!("{rpc}.server.request"),
            (SpanKind::Exit, None, None, Some(rpc)) => format!("{rpc}.client.request"),
            (SpanKind::Entry, ..) => "server.request".to_owned(),
            (SpanKind::Exit, ..) => "client.request".to_owned(),
            (SpanKind::Local, ..) => "internal".to_owned(),
        };
        let resource = match (span.kind, &method, tag(&["http.route"])) {
            (SpanKind::Entry, Some(method), Some(route)) => format!("{method} {route}"),
            _ => span.name.to_string(),
        };
        let kind = match span.kind {
            SpanKind::Entry => "web",
            SpanKind::Exit => db.as_deref().map_or("http", db_type),
            SpanKind::Local => "custom",
        };

        let mut meta: Vec<(String, String)> = Vec::new();
        let mut metrics: Vec<(String, f64)> = Vec::new();
        for (key, value) in &tags {
            match value {
                TagValue::I64(v) => metrics.push(((*key).to_owned(), *v as f64)),
                TagValue::U64(v) => metrics.push(((*key).to_owned(), *v as f64)),
                TagValue::F64(v) => metrics.push(((*key).to_owned(), *v)),
                TagValue::Str(_) | TagValue::Bool(_) => meta.push(((*key).to_owned(), value.to_string())),
            }
        }
        let span_kind = match span.kind {
            SpanKind::Entry => "server",
            SpanKind::Exit => "client",
            SpanKind::Local => "internal",
        };
        meta.push(("span.kind".to_owned(), span_kind.to_owned()));
        meta.extend(self.env.iter().map(|env| ("env".to_owned(), env.clone())));
        meta.extend(self.version.iter().map(|version| ("version".to_owned(), version.clone())));
        if let Some(peer) = segment.peer(index) {
            let (host, port) = split_host_port(peer);
            meta.push(("out.host".to_owned(), host.to_owned()));
            metrics.extend(port.map(|port| ("network.destination.port".to_owned(), f64::from(port))));
        }
        let logs: Vec<_> = segment.logs.iter().filter(|l| l.span == index).collect();
        let field =
            |key: &str| logs.iter().flat_map(|l| &l.fields).find(|(k, _)| *k == key).map(|(_, v)| v.to_string());
        if span.error {
            meta.extend(field("exception.message").map(|m| ("error.message".to_owned(), m)));
            meta.extend(field("exception.type").map(|t| ("error.type".to_owned(), t)));
        }
        let events: Vec<_> = logs.iter().filter(|l| !(span.error && l.name == "exception")).collect();
        if !events.is_empty() {
            let mut json = b"[".to_vec();
            for (i, log) in events.iter().enumerate() {
                json.extend_from_slice(if i == 0 { b"{\"name\":" } else { b",{\"name\":" });
                push_json_string(&mut json, &log.name);
                // Writing to a `Vec` cannot fail.
                let _ = write!(json, ",\"time_unix_nano\":{},\"attributes\":{{", clock.unix_nanos(log.tick));
                for (j, (key, value)) in log.fields.iter().enumerate() {
                    if j > 0 {
                        json.push(b',');
                    }
                    push_json_string(&mut json, key);
                    json.push(b':');
                    push_json_string(&mut json, &value.to_string());
                }
                json.extend_from_slice(b"}}");
            }
            json.push(b']');
            // JSON written from UTF-8 text is UTF-8: taken as it is, nothing is replaced.
            let json = String::from_utf8(json).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            meta.push(("events".to_owned(), json));
        }
        if index == 0 {
            let high = (trace_id >> 64) as u64;
            if high != 0 {
                meta.push(("_dd.p.tid".to_owned(), format!("{high:016x}")));
            }
            meta.push(("language".to_owned(), "rust".to_owned()));
            let datadog = segment.propagated.datadog.as_deref();
            meta.extend(datadog.and_then(|d| d.origin.clone()).map(|origin| ("_dd.origin".to_owned(), origin)));
            for pair in datadog.and_then(|d| d.tags.as_deref()).unwrap_or_default().split(',') {
                if let Some((key, value)) = pair.split_once('=').filter(|(k, _)| k.starts_with("_dd.p.")) {
                    meta.push((key.to_owned(), value.to_owned()));
                }
            }
            let priority = datadog.and_then(|d| d.priority).unwrap_or(1);
            metrics.push(("_sampling_priority_v1".to_owned(), f64::from(priority)));
            if segment.parent.as_ref().is_none_or(|p| p.kind == RefKind::CrossProcess) {
                metrics.push(("_dd.top_level".to_owned(), 1.0));
            }
        }

        let parent = segment.parent_of(index).map_or(0, |(id, _)| id.to_int());
        let start = clock.unix_nanos(span.start);
        let fields = 10 + usize::from(parent != 0) + usize::from(span.error);
        out.map(fields);
        out.str("service");
        out.str(&self.service);
        out.str("name");
        out.str(&name);
        out.str("resource");
        out.str(&resource);
        out.str("type");
        out.str(kind);
        out.str("trace_id");
        out.uint(trace_id as u64);
        out.str("span_id");
        out.uint(segment.span_id(index).to_int());
        if parent != 0 {
            out.str("parent_id");
            out.uint(parent);
        }
        out.str("start");
        out.int(i64::try_from(start).unwrap_or(i64::MAX));
        out.str("duration");
        out.int(i64::try_from(clock.duration_nanos(span.start, span.end)).unwrap_or(i64::MAX));
        if span.error {
            out.str("error");
            out.int(1);
        }
        out.str("meta");
        out.map(meta.len());
        for (key, value) in &meta {
            out.str(key);
            out.str(value);
        }
        out.str("metrics");
        out.map(metrics.len());
        for (key, value) in &metrics {
            out.str(key);
            out.f64(*value);
        }
    }
}

/// Datadog's span type for a database client span, by `db.system`.
fn db_type(system: &str) -> &'static str {
    match system {
        "redis" => "redis",
        "memcached" => "memcached",
        "mongodb" => "mongodb",
        "cassandra" => "cassandra",
        "elasticsearch" | "opensearch" => "elasticsearch",
        "postgresql" | "mysql" | "mariadb" | "mssql" | "oracle" | "sqlite" | "db2" | "cockroachdb" => "sql",
        _ => "db",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(vars: &[(&'static str, &str)]) -> Result<DatadogSettings, ConfigError> {
        DatadogSettings::resolve(&Vars::of(vars))
    }

    #[test]
    fn agent_address_follows_the_dd_variables() {
        assert_eq!(resolve(&[]).unwrap().target.to_string(), "http://localhost:8126/v0.4/traces");
        let config = resolve(&[("DD_AGENT_HOST", "agent"), ("DD_TRACE_AGENT_PORT", "9126")]).unwrap();
        assert_eq!(config.target.to_string(), "http://agent:9126/v0.4/traces");
        let config = resolve(&[("DD_TRACE_AGENT_URL", "http://other:1234"), ("DD_AGENT_HOST", "agent")]).unwrap();
        assert_eq!(config.target.to_string(), "http://other:1234/v0.4/traces");
        for port in ["x", "0", "65536"] {
            assert_eq!(resolve(&[("DD_TRACE_AGENT_PORT", port)]).unwrap_err().variable(), "DD_TRACE_AGENT_PORT");
        }
        assert_eq!(resolve(&[("DD_TRACE_AGENT_URL", "agent:8126")]).unwrap_err().variable(), "DD_TRACE_AGENT_URL");
    }
}

//! The `console` logs exporter: each record as one line on standard output, in one of two forms
//! (`SPANSCOPE_LOGS_CONSOLE_FORMAT`).
//!
//! `text` (the default) fits beside `tracing-subscriber`'s `fmt` lines:
//!
//! ```text
//! 2026-12-07T18:23:43.123456Z  INFO shop::orders: order placed order_id=7 note="gift wrap" trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7
//! ```
//!
//! The time in UTC with microseconds, the level right-aligned to five characters, the target,
//! the body as it was written, then each attribute as `key=value`, then the ids of the span the
//! record was made in (none outside a span). A string value is written bare unless it is empty or
//! holds a space, `"`, `=`, `\` or a character written as an escape (below); then it is quoted,
//! with `"` and `\` inside written `\"` and `\\` (logfmt's rule: a bare value never holds a
//! backslash, so every value reads back exactly). Numbers and booleans are bare. The body is not
//! quoted, as `fmt` does not quote it: a reader that must tell a body's text from the fields
//! after it reads the `json` form.
//!
//! `json` writes one object per line, shaped like `tracing-subscriber`'s JSON formatter so the
//! shippers that read it take these too:
//!
//! ```text
//! {"timestamp":"2026-12-07T18:23:43.123456Z","level":"INFO","target":"shop::orders","code.file.path":"src/orders.rs","code.line.number":42,"fields":{"message":"order placed","order_id":7},"trace_id":"…","span_id":"…","trace_flags":"01"}
//! ```
//!
//! The code location, when known, comes after the target at the top level (where `fmt`'s JSON
//! puts `filename` and `line_number`), under the semantic conventions' names. Attributes keep
//! their JSON types in `fields`; a float JSON has no number for is the string `"NaN"`,
//! `"Infinity"` or `"-Infinity"`.
//!
//! With the `datadog` trace exporter, both forms also carry what Datadog's log pipeline joins to
//! the trace (its agent collects logs from standard output): `dd.trace_id` (the decimal of the
//! trace id's low 64 bits, the trace id the Datadog exporter sends; or, when its high 64 bits are
//! not zero and `DD_TRACE_128_BIT_TRACEID_LOGGING_ENABLED` is not `false`, all 128 bits as 32
//! lowercase hex digits, which the agent matches with the exporter's `_dd.p.tid`), `dd.span_id`
//! (the span id in decimal), and `dd.service`, `dd.env`, `dd.version` (the service name, the
//! deployment environment, the service version, each when known). In JSON they are top-level
//! strings (a 64-bit decimal would lose digits as a JSON number in many readers); in text, more
//! `key=value` pairs.
//!
//! Every piece of text from the record (target, body, keys, values) is application or network
//! text: control characters (C0, DEL, C1) and the invisible and bidirectional formatting
//! characters are written as escapes (`\n`, `\r`, `\u{1b}` in text; `\n`, `\u001b` in JSON), so a
//! record is always exactly one line and never draws on the terminal.
//!
//! Each batch is one write to standard output, whose lock it holds throughout, so the
//! application's own `println!` lines never land inside one of these. Like every console
//! exporter, it is meant for development and for an agent reading the process's output: a
//! standard output nobody reads (a full pipe) holds the reporter thread while it is full.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write;
use std::time::Duration;

use crate::config::env::{parse_bool, Vars};
use crate::config::logs::ConsoleFormat;
use crate::config::{ConfigError, Settings, TracesExporter};
use crate::export::logs::LogBatch;
use crate::export::metrics::json::push_f64;
use crate::export::resource::Resource;
use crate::export::traces::otlp::json::{push_escaped, push_json_string, push_u64};
use crate::export::{ExportError, Exporter, Sent};
use crate::id::hex_pair;
use crate::logs::{LogRecord, Value};
use crate::span::current::LogIdentity;
use crate::stderr::{escape, is_escaped};

/// The console exporter's own settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConsoleSettings {
    /// With the `datadog` trace exporter: the `dd.*` fields are written, and this says whether a
    /// trace id with non-zero high bits is written whole, in hex
    /// (`DD_TRACE_128_BIT_TRACEID_LOGGING_ENABLED`, `true` unless set).
    pub datadog_128_bit_trace_ids: Option<bool>,
}

impl ConsoleSettings {
    /// Reads Datadog's variable only when the traces go to Datadog.
    pub(crate) fn resolve(settings: &Settings, vars: &Vars<'_>) -> Result<Self, ConfigError> {
        let datadog_128_bit_trace_ids = if settings.exporters.contains(&TracesExporter::Datadog) {
            Some(vars.read("DD_TRACE_128_BIT_TRACEID_LOGGING_ENABLED", parse_bool)?.unwrap_or(true))
        } else {
            None
        };
        Ok(Self { datadog_128_bit_trace_ids })
    }
}

/// What a line carries for Datadog's correlation.
#[derive(Debug)]
struct Datadog {
    trace_id_128_bit: bool,
    service: String,
    env: Option<String>,
    version: Option<String>,
}

/// Writes each record of a batch as a line to `out` (standard output), on the reporter thread.
#[derive(Debug)]
pub(crate) struct LogsConsole<W: Write + Send + std::fmt::Debug> {
    out: W,
    format: ConsoleFormat,
    datadog: Option<Datadog>,
    /// `OTEL_BLRP_EXPORT_TIMEOUT`.
    timeout: Duration,
}

impl<W: Write + Send + std::fmt::Debug> LogsConsole<W> {
    pub(crate) fn new(
        out: W,
        format: ConsoleFormat,
        settings: ConsoleSettings,
        resource: &Resource,
        timeout: Duration,
    ) -> Self {
        let datadog = settings.datadog_128_bit_trace_ids.map(|trace_id_128_bit| Datadog {
            trace_id_128_bit,
            service: resource.service.clone(),
            env: resource.environment(),
            version: resource.get("service.version"),
        });
        Self { out, format, datadog, timeout }
    }

    /// Appends `record`'s line, made at `unix_nanos`.
    fn write_record(&self, out: &mut Vec<u8>, record: &LogRecord, unix_nanos: u64) {
        match self.format {
            ConsoleFormat::Text => self.write_text(out, record, unix_nanos),
            ConsoleFormat::Json => self.write_json(out, record, unix_nanos),
        }
        out.push(b'\n');
    }

    fn write_text(&self, out: &mut Vec<u8>, record: &LogRecord, unix_nanos: u64) {
        push_timestamp(out, unix_nanos);
        // Writing to a `Vec` cannot fail.
        let _ = write!(out, " {:>5} {}:", record.level.as_str(), escape(&record.target));
        if !record.body().is_empty() {
            out.push(b' ');
            out.extend_from_slice(escape(record.body()).as_bytes());
        }
        for (key, value) in record.attributes() {
            push_text_key(out, key);
            match value {
                Value::Str(text) => push_text_value(out, text),
                other => {
                    let _ = write!(out, "{other}");
                }
            }
        }
        if let Some(span) = &record.span {
            push_text_key(out, "trace_id");
            out.extend_from_slice(&span.trace_id.hex());
            push_text_key(out, "span_id");
            out.extend_from_slice(&span.span_id.hex());
        }
        for (key, value) in self.datadog_fields(record.span.as_ref()) {
            push_text_key(out, key);
            push_text_value(out, &value);
        }
    }

    fn write_json(&self, out: &mut Vec<u8>, record: &LogRecord, unix_nanos: u64) {
        out.extend_from_slice(br#"{"timestamp":""#);
        push_timestamp(out, unix_nanos);
        out.extend_from_slice(br#"","level":""#);
        out.extend_from_slice(record.level.as_str().as_bytes());
        out.extend_from_slice(br#"","target":"#);
        push_json_text(out, &record.target);
        if let Some(location) = &record.location {
            out.extend_from_slice(br#","code.file.path":"#);
            push_json_text(out, &location.file);
            if let Some(line) = location.line {
                out.extend_from_slice(br#","code.line.number":"#);
                push_u64(out, u64::from(line));
            }
        }
        out.extend_from_slice(br#","fields":{"message":"#);
        push_json_text(out, record.body());
        for (key, value) in record.attributes() {
            out.push(b',');
            push_json_text(out, key);
            out.push(b':');
            match value {
                Value::Str(text) => push_json_text(out, text),
                Value::I64(v) => {
                    if v < 0 {
                        out.push(b'-');
                    }
                    push_u64(out, v.unsigned_abs());
                }
                Value::U64(v) => push_u64(out, v),
                Value::F64(v) => push_f64(out, v),
                Value::Bool(v) => out.extend_from_slice(if v { b"true" } else { b"false" }),
            }
        }
        out.push(b'}');
        if let Some(span) = &record.span {
            out.extend_from_slice(br#","trace_id":""#);
            out.extend_from_slice(&span.trace_id.hex());
            out.extend_from_slice(br#"","span_id":""#);
            out.extend_from_slice(&span.span_id.hex());
            out.extend_from_slice(br#"","trace_flags":""#);
            out.extend_from_slice(&hex_pair(span.flags));
            out.push(b'"');
        }
        for (key, value) in self.datadog_fields(record.span.as_ref()) {
            out.push(b',');
            push_json_string(out, key);
            out.push(b':');
            push_json_text(out, &value);
        }
        out.push(b'}');
    }

    /// The `dd.*` fields of a record made in `span`, in order; none without the Datadog exporter.
    fn datadog_fields(&self, span: Option<&LogIdentity>) -> Vec<(&'static str, Cow<'_, str>)> {
        let Some(datadog) = &self.datadog else { return Vec::new() };
        let mut fields = Vec::with_capacity(5);
        if let Some(span) = span {
            let trace_id = datadog_trace_id(span.trace_id.to_int(), datadog.trace_id_128_bit);
            fields.push(("dd.trace_id", Cow::Owned(trace_id)));
            fields.push(("dd.span_id", Cow::Owned(span.span_id.to_int().to_string())));
        }
        fields.push(("dd.service", Cow::Borrowed(datadog.service.as_str())));
        fields.extend(datadog.env.as_deref().map(|env| ("dd.env", Cow::Borrowed(env))));
        fields.extend(datadog.version.as_deref().map(|version| ("dd.version", Cow::Borrowed(version))));
        fields
    }
}

impl<W: Write + Send + std::fmt::Debug + 'static> Exporter for LogsConsole<W> {
    type Load = LogBatch;
    /// The batch's lines.
    type Payload = Vec<u8>;

    fn name(&self) -> &str {
        "console (logs)"
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    fn encode(&mut self, batch: &LogBatch) -> Vec<u8> {
        let mut lines = Vec::with_capacity(batch.records.len() * 160);
        for record in &batch.records {
            self.write_record(&mut lines, record, batch.clock.unix_nanos(record.tick));
        }
        lines
    }

    async fn send(&mut self, lines: &Vec<u8>) -> Result<Sent, ExportError> {
        // One write for the batch: standard output's lock is held for all of it, so no line of
        // another writer lands inside one of these.
        self.out.write_all(lines).map_err(ExportError::Io)?;
        self.out.flush().map_err(ExportError::Io)?;
        Ok(Sent::default())
    }

    fn flush(&mut self) {
        let _ = self.out.flush();
    }

    fn shutdown(&mut self) {
        let _ = self.out.flush();
    }
}

/// `dd.trace_id`: the decimal of the low 64 bits (what the Datadog exporter sends as the span's
/// `trace_id`), or all 32 hex digits when `whole` and the high 64 bits (the exporter's
/// `_dd.p.tid`) are not zero.
fn datadog_trace_id(trace_id: u128, whole: bool) -> String {
    if whole && trace_id >> 64 != 0 {
        format!("{trace_id:032x}")
    } else {
        (trace_id as u64).to_string()
    }
}

/// ` key=`, with the characters that would end or split the key (space, `=`, `"`, and those
/// [`is_escaped`] picks) written as escapes.
fn push_text_key(out: &mut Vec<u8>, key: &str) {
    out.push(b' ');
    let mut text = String::with_capacity(key.len());
    for c in key.chars() {
        if is_escaped(c) || matches!(c, ' ' | '=' | '"') {
            text.extend(c.escape_debug());
            if c == ' ' || c == '=' {
                // `escape_debug` leaves these as they are.
                text.pop();
                let _ = write!(text, "\\u{{{:x}}}", u32::from(c));
            }
        } else {
            text.push(c);
        }
    }
    out.extend_from_slice(text.as_bytes());
    out.push(b'=');
}

/// A string value: bare when that reads back exactly, else quoted (see the module's docs).
fn push_text_value(out: &mut Vec<u8>, text: &str) {
    let bare = !text.is_empty() && !text.chars().any(|c| matches!(c, ' ' | '"' | '=' | '\\') || is_escaped(c));
    if bare {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    out.push(b'"');
    let quoted = text.replace('\\', r"\\").replace('"', r#"\""#);
    out.extend_from_slice(escape(&quoted).as_bytes());
    out.push(b'"');
}

/// A JSON string of application text: escaped as RFC 8259 requires, and DEL, the C1 controls
/// and the invisible and bidirectional formatting characters as `\uXXXX` too, so a line shown on
/// a terminal draws nothing.
fn push_json_text(out: &mut Vec<u8>, text: &str) {
    if text.bytes().all(|b| b < 0x7f) {
        push_json_string(out, text);
        return;
    }
    out.push(b'"');
    let mut run = 0;
    for (at, c) in text.char_indices() {
        if u32::from(c) >= 0x7f && is_escaped(c) {
            push_escaped(out, &text[run..at]);
            // Every character `is_escaped` picks is in the Basic Multilingual Plane.
            let _ = write!(out, "\\u{:04x}", u32::from(c));
            run = at + c.len_utf8();
        }
    }
    push_escaped(out, &text[run..]);
    out.push(b'"');
}

/// RFC 3339 in UTC with microseconds, as `tracing-subscriber` writes its time:
/// `2026-12-07T18:23:43.123456Z`.
fn push_timestamp(out: &mut Vec<u8>, unix_nanos: u64) {
    let seconds = unix_nanos / 1_000_000_000;
    let micros = unix_nanos % 1_000_000_000 / 1000;
    let (year, month, day) = civil_date(seconds / 86_400);
    let second_of_day = seconds % 86_400;
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    );
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_date(days: u64) -> (u64, u64, u64) {
    // Days since 0000-03-01, so that a year ends with its leap day.
    let days = days + 719_468;
    let era = days / 146_097;
    let day_of_era = days % 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::log_level::Level;
    use crate::config::Config;
    use crate::id::{SpanId, TraceId};
    use crate::logs::Location;
    use crate::tag::TagValue;

    /// 2026-12-07T18:23:43.123456789Z.
    const NANOS: u64 = 1_796_667_823_123_456_789;
    const TRACE: u128 = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736;
    const SPAN: u64 = 0x00f0_67aa_0ba9_02b7;

    fn identity(trace: u128) -> LogIdentity {
        LogIdentity {
            trace_id: TraceId::from_int(trace).unwrap(),
            span_id: SpanId::from_int(SPAN).unwrap(),
            flags: 1,
            segment: None,
            sw_trace_id: None,
        }
    }

    /// A record from `shop::orders` at `src/orders.rs:42`.
    fn shaped(body: &str, attributes: &[(&'static str, TagValue)], span: Option<LogIdentity>) -> LogRecord {
        let mut record = LogRecord::of(body, attributes);
        record.target = Cow::Borrowed("shop::orders");
        record.location = Some(Location { file: Cow::Borrowed("src/orders.rs"), line: Some(42) });
        record.span = span;
        record
    }

    fn record(span: Option<LogIdentity>) -> LogRecord {
        let attributes = [
            ("order_id", TagValue::I64(-7)),
            ("note", TagValue::from("gift wrap")),
            ("sku", TagValue::from("A-1")),
            ("price", TagValue::F64(9.5)),
            ("ratio", TagValue::F64(f64::NAN)),
            ("paid", TagValue::Bool(true)),
            ("items", TagValue::U64(u64::MAX)),
        ];
        shaped("order placed", &attributes, span)
    }

    fn console(format: ConsoleFormat, vars: &[(&str, &str)]) -> LogsConsole<Vec<u8>> {
        let settings = Config::new().service_name("shop").resolve(&Vars::of(vars)).unwrap();
        let console = ConsoleSettings::resolve(&settings, &Vars::of(vars)).unwrap();
        LogsConsole::new(Vec::new(), format, console, &Resource::new(&settings), Duration::from_secs(1))
    }

    fn line(console: &LogsConsole<Vec<u8>>, record: &LogRecord) -> String {
        let mut out = Vec::new();
        console.write_record(&mut out, record, NANOS);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn text_lines_look_like_fmt_with_ids_only_in_a_span() {
        let text = console(ConsoleFormat::Text, &[]);
        assert_eq!(
            line(&text, &record(Some(identity(TRACE)))),
            "2026-12-07T18:23:43.123456Z  INFO shop::orders: order placed order_id=-7 note=\"gift wrap\" sku=A-1 \
             price=9.5 ratio=NaN paid=true items=18446744073709551615 \
             trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7\n"
        );
        let mut outside = shaped("order placed", &[], None);
        outside.level = Level::Error;
        assert_eq!(line(&text, &outside), "2026-12-07T18:23:43.123456Z ERROR shop::orders: order placed\n");
        let mut empty = shaped("", &[], None);
        empty.level = Level::Error;
        assert_eq!(line(&text, &empty), "2026-12-07T18:23:43.123456Z ERROR shop::orders:\n");
    }

    #[test]
    fn text_escapes_every_control_and_quotes_what_would_not_read_back() {
        let text = console(ConsoleFormat::Text, &[]);
        let attributes = [
            ("k ey=\"x\"\n", TagValue::from("a\"b\\c")),
            ("empty", TagValue::from("")),
            ("esc", TagValue::from("\u{1b}]0;title\u{7}")),
            ("path", TagValue::from("C:\\dir")),
            ("eq", TagValue::from("a=b")),
        ];
        let mut hostile = shaped("line one\nline two \u{1b}[31mred\u{9b}1m\u{7f}\u{202e}", &attributes, None);
        hostile.target = Cow::Borrowed("app\r\n2026-01-01T00:00:00.000000Z  INFO forged");
        let written = line(&text, &hostile);
        assert_eq!(written.matches('\n').count(), 1, "{written}");
        assert!(!written.chars().any(|c| c != '\n' && is_escaped(c)), "{written:?}");
        assert_eq!(
            written,
            "2026-12-07T18:23:43.123456Z  INFO app\\r\\n2026-01-01T00:00:00.000000Z  INFO forged: \
             line one\\nline two \\u{1b}[31mred\\u{9b}1m\\u{7f}\\u{202e} \
             k\\u{20}ey\\u{3d}\\\"x\\\"\\n=\"a\\\"b\\\\c\" empty=\"\" esc=\"\\u{1b}]0;title\\u{7}\" \
             path=\"C:\\\\dir\" eq=\"a=b\"\n"
        );
    }

    #[test]
    fn json_lines_parse_back_with_their_types() {
        let json = console(ConsoleFormat::Json, &[]);
        let written = line(&json, &record(Some(identity(TRACE))));
        assert_eq!(written.matches('\n').count(), 1);
        assert!(written.starts_with(
            r#"{"timestamp":"2026-12-07T18:23:43.123456Z","level":"INFO","target":"shop::orders","code.file.path":"src/orders.rs","code.line.number":42,"fields":{"message":"order placed","#
        ));
        let value: serde_json::Value = serde_json::from_str(&written).unwrap();
        let fields = &value["fields"];
        assert_eq!(fields["order_id"], -7);
        assert_eq!(fields["note"], "gift wrap");
        assert_eq!(fields["price"], 9.5);
        assert_eq!(fields["ratio"], "NaN");
        assert_eq!(fields["paid"], true);
        assert_eq!(fields["items"], u64::MAX);
        assert_eq!(value["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(value["span_id"], "00f067aa0ba902b7");
        assert_eq!(value["trace_flags"], "01");
        assert!(value.get("dd.trace_id").is_none() && value.get("dd.service").is_none());

        let mut outside = record(None);
        outside.location = None;
        let body = "a \"quoted\" \\ line\nand \u{1b}[31m\u{9b}\u{7f}\u{2028}é";
        let mut outside = shaped(body, &[], None);
        outside.location = None;
        let written = line(&json, &outside);
        assert_eq!(written.matches('\n').count(), 1, "{written}");
        assert!(!written.trim_end().chars().any(is_escaped), "{written:?}");
        let value: serde_json::Value = serde_json::from_str(&written).unwrap();
        assert_eq!(value["fields"]["message"], body);
        assert!(value.get("trace_id").is_none() && value.get("code.file.path").is_none(), "{written}");
    }

    #[test]
    fn datadog_fields_follow_the_trace_exporter() {
        let vars = [("OTEL_TRACES_EXPORTER", "datadog"), ("DD_ENV", "prod"), ("DD_VERSION", "2.0")];
        let json = console(ConsoleFormat::Json, &vars);
        let value: serde_json::Value = serde_json::from_str(&line(&json, &record(Some(identity(TRACE))))).unwrap();
        assert_eq!(value["dd.trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(value["dd.span_id"], SPAN.to_string());
        assert_eq!(
            (&value["dd.service"], &value["dd.env"], &value["dd.version"]),
            (&"shop".into(), &"prod".into(), &"2.0".into())
        );
        // A 64-bit trace id (from a Datadog caller) is decimal whatever the flag.
        let value: serde_json::Value =
            serde_json::from_str(&line(&json, &record(Some(identity(TRACE as u64 as u128))))).unwrap();
        assert_eq!(value["dd.trace_id"], (TRACE as u64).to_string());
        // Outside a span: the service, never ids.
        let value: serde_json::Value = serde_json::from_str(&line(&json, &record(None))).unwrap();
        assert!(value.get("dd.trace_id").is_none() && value.get("dd.span_id").is_none());
        assert_eq!(value["dd.service"], "shop");

        let vars = [("OTEL_TRACES_EXPORTER", "console,datadog"), ("DD_TRACE_128_BIT_TRACEID_LOGGING_ENABLED", "false")];
        let text = console(ConsoleFormat::Text, &vars);
        let written = line(&text, &record(Some(identity(TRACE))));
        assert!(
            written.ends_with(&format!(
                " span_id=00f067aa0ba902b7 dd.trace_id={} dd.span_id={SPAN} dd.service=shop\n",
                TRACE as u64
            )),
            "{written}"
        );
        // Without the Datadog exporter its variable is not read: a bad value is no error.
        let settings = Config::new().resolve(&Vars::of(&[])).unwrap();
        let bad = [("DD_TRACE_128_BIT_TRACEID_LOGGING_ENABLED", "maybe")];
        assert_eq!(ConsoleSettings::resolve(&settings, &Vars::of(&bad)).unwrap().datadog_128_bit_trace_ids, None);
        let settings = Config::new().resolve(&Vars::of(&[("OTEL_TRACES_EXPORTER", "datadog")])).unwrap();
        let error = ConsoleSettings::resolve(&settings, &Vars::of(&bad)).unwrap_err().to_string();
        assert!(error.contains("DD_TRACE_128_BIT_TRACEID_LOGGING_ENABLED"), "{error}");
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_microseconds() {
        let stamp = |nanos: u64| {
            let mut out = Vec::new();
            push_timestamp(&mut out, nanos);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(stamp(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(stamp(NANOS), "2026-12-07T18:23:43.123456Z");
        assert_eq!(stamp(1_709_251_199_999_999_999), "2024-02-29T23:59:59.999999Z");
        assert_eq!(stamp(951_782_400_000_000_000), "2000-02-29T00:00:00.000000Z");
        assert_eq!(stamp(4_107_542_400_000_000_000), "2100-03-01T00:00:00.000000Z");
    }
}

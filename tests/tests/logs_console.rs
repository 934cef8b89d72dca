//! The `console` logs exporter end to end: a program (`fixture_logs`) logs through the `log`
//! bridge and the `tracing` layer inside and outside spans; its standard output is parsed back,
//! line by line (text with a small logfmt reader, JSON with serde_json), and each record's ids
//! are those of the span the same run exported (to `traces.jsonl`, or to a Datadog agent on
//! loopback, whose ids the `dd.*` fields must match).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use spanscope_tests::collector::datadog::{Agent, DdSpan};
use spanscope_tests::collector::wait_until;
use spanscope_tests::{fresh_dir, read_spans, ExportedSpan};

const FIXTURE: &str = env!("CARGO_BIN_EXE_fixture_logs");

/// The body of the fixture's hostile record, and how the console must write it.
const HOSTILE: &str = "hostile\nforged line\r\x1b[31mred\x1b[0m";
const HOSTILE_ESCAPED: &str = r"hostile\nforged line\r\u{1b}[31mred\u{1b}[0m";

/// One record read back from a line.
#[derive(Debug)]
struct Line {
    level: String,
    target: String,
    body: String,
    /// Attributes, ids and `dd.*` fields, every value as text.
    fields: BTreeMap<String, String>,
}

impl Line {
    fn get(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }
}

/// Runs the fixture with `env` and its output folder; returns its standard output's lines.
fn run(dir: &Path, env: &[(&str, &str)]) -> Vec<String> {
    let output = Command::new(FIXTURE)
        .env("SPANSCOPE_OUT_DIR", dir)
        .env("SPANSCOPE_PROFILER", "off")
        .env("OTEL_LOGS_EXPORTER", "console")
        .env("OTEL_METRICS_EXPORTER", "none")
        .envs(env.iter().copied())
        .output()
        .expect("run the fixture");
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 on standard output");
    assert!(output.status.success(), "{}\n{stdout}", String::from_utf8_lossy(&output.stderr));
    assert!(!stdout.contains(['\x1b', '\r']), "raw control characters reached the terminal: {stdout:?}");
    stdout.lines().map(str::to_owned).collect()
}

/// A text line: `<time> <level> <target>: <body> key=value key="quoted value"...`. The body is
/// the words before the first `key=`.
fn parse_text(line: &str) -> Line {
    let (timestamp, rest) = line.split_once(' ').expect("a time");
    assert!(timestamp.len() == 27 && timestamp.ends_with('Z') && &timestamp[10..11] == "T", "{line}");
    let level_field = &rest[..6];
    assert_eq!(level_field.len(), 6, "the level is right-aligned to five: {line}");
    let level = level_field.trim().to_owned();
    let (target, mut rest) = rest[6..].split_once(": ").expect("a target");
    let mut words = Vec::new();
    while !rest.is_empty() {
        let (word, after) = rest.split_once(' ').unwrap_or((rest, ""));
        let key = word.split_once('=').map(|(key, _)| key);
        if key.is_some_and(|key| !key.is_empty() && key.chars().all(|c| c.is_alphanumeric() || "_.".contains(c))) {
            break;
        }
        words.push(word);
        rest = after;
    }
    let mut fields = BTreeMap::new();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=').expect("key=value");
        let (value, after) = match after.strip_prefix('"') {
            Some(quoted) => {
                let mut value = String::new();
                let mut chars = quoted.char_indices();
                let end = loop {
                    match chars.next().expect("a closing quote") {
                        (at, '"') => break at + 1,
                        (_, '\\') => match chars.next().expect("an escape") {
                            (_, c @ ('"' | '\\')) => value.push(c),
                            (_, c) => value.extend(['\\', c]),
                        },
                        (_, c) => value.push(c),
                    }
                };
                (value, &quoted[end..])
            }
            None => {
                let (value, after) = after.split_once(' ').map_or((after, ""), |(v, a)| (v, a));
                (value.to_owned(), after)
            }
        };
        assert!(fields.insert(key.to_owned(), value).is_none(), "{key} twice: {line}");
        rest = after.strip_prefix(' ').unwrap_or(after);
    }
    Line { level, target: target.to_owned(), body: words.join(" "), fields }
}

/// A JSON line: the attributes from `fields`, the ids and `dd.*` fields from the top level.
fn parse_json(line: &str) -> Line {
    let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    let text = |value: &Value| value.as_str().map_or_else(|| value.to_string(), str::to_owned);
    let object = value.as_object().expect("an object");
    assert!(object["timestamp"].as_str().is_some_and(|t| t.len() == 27 && t.ends_with('Z')), "{line}");
    let mut fields: BTreeMap<String, String> =
        object["fields"].as_object().expect("fields").iter().map(|(k, v)| (k.clone(), text(v))).collect();
    let body = fields.remove("message").expect("a message");
    for (key, value) in object {
        if !["timestamp", "level", "target", "fields"].contains(&key.as_str()) {
            fields.insert(key.clone(), text(value));
        }
    }
    Line { level: text(&object["level"]), target: text(&object["target"]), body, fields }
}

/// The only line whose body starts with `start`.
fn record<'a>(lines: &'a [Line], start: &str) -> &'a Line {
    let found: Vec<_> = lines.iter().filter(|l| l.body.starts_with(start)).collect();
    assert_eq!(found.len(), 1, "one record {start:?} in {lines:#?}");
    found[0]
}

fn span<'a>(spans: &'a [ExportedSpan], name: &str) -> &'a ExportedSpan {
    spans.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("span {name} in {spans:#?}"))
}

/// Checks every record's ids against the spans of `traces.jsonl`, and the rest of each record.
fn check_against_local_spans(lines: &[Line], dir: &Path) {
    assert_eq!(lines.len(), 5, "{lines:#?}");
    let spans = read_spans(&dir.join("traces.jsonl"));
    let ids = |line: &Line| (line.get("trace_id").map(str::to_owned), line.get("span_id").map(str::to_owned));
    let of = |name: &str| {
        let span = span(&spans, name);
        (Some(span.trace_id.clone()), Some(span.span_id.clone()))
    };

    let outside = record(lines, "outside any span");
    assert_eq!(ids(outside), (None, None), "{outside:?}");
    assert_eq!((outside.level.as_str(), outside.target.as_str()), ("INFO", "fixture_logs"));

    let placed = record(lines, "order placed");
    assert_eq!(ids(placed), of("place_order"));
    assert_eq!((placed.get("order_id"), placed.get("note")), (Some("7"), Some("gift wrap")));

    let priced = record(lines, "priced");
    assert_eq!(ids(priced), of("price"));
    assert_eq!((priced.get("items"), priced.get("total")), (Some("3"), Some("9.5")));
    assert_eq!(span(&spans, "price").parent_span_id, Some(span(&spans, "place_order").span_id.clone()));

    assert_eq!(ids(record(lines, "in a tracing span")), of("tracing_span"));

    let hostile = record(lines, "hostile");
    assert_eq!(ids(hostile), of("place_order"));
    assert_eq!(hostile.level, "WARN");
    assert!(lines.iter().all(|l| l.get("dd.service").is_none()), "no dd.* without the datadog exporter");
}

#[test]
fn text_lines_carry_the_ids_of_the_spans_exported() {
    let dir = fresh_dir("text");
    let output = run(&dir, &[("OTEL_TRACES_EXPORTER", "local")]);
    let lines: Vec<Line> = output.iter().map(|line| parse_text(line)).collect();
    check_against_local_spans(&lines, &dir);
    assert_eq!(record(&lines, "hostile").body, HOSTILE_ESCAPED);
    let placed = output.iter().find(|line| line.contains("order placed")).unwrap();
    assert!(
        placed[27..].starts_with("  INFO fixture_logs: order placed order_id=7 note=\"gift wrap\" trace_id="),
        "{placed}"
    );
    let warned = output.iter().find(|line| line.contains("hostile")).unwrap();
    assert!(warned[27..].starts_with("  WARN fixture_logs: "), "{warned}");
}

#[test]
fn json_lines_carry_the_ids_of_the_spans_exported() {
    let dir = fresh_dir("json");
    let output = run(&dir, &[("OTEL_TRACES_EXPORTER", "local"), ("SPANSCOPE_LOGS_CONSOLE_FORMAT", "json")]);
    let lines: Vec<Line> = output.iter().map(|line| parse_json(line)).collect();
    check_against_local_spans(&lines, &dir);
    assert_eq!(record(&lines, "hostile").body, HOSTILE, "JSON escapes read back to the text logged");
    let placed = record(&lines, "order placed");
    assert!(placed.get("code.file.path").is_some_and(|p| p.ends_with("fixture_logs.rs")), "{placed:?}");
    assert!(placed.get("code.line.number").is_some_and(|n| n.parse::<u32>().is_ok()), "{placed:?}");
    assert_eq!(placed.get("trace_flags"), Some("01"));
    let priced: Value = serde_json::from_str(output.iter().find(|l| l.contains("priced")).unwrap()).unwrap();
    assert_eq!((&priced["fields"]["items"], &priced["fields"]["total"]), (&Value::from(3), &Value::from(9.5)));
}

fn meta<'a>(span: &'a DdSpan, key: &str) -> Option<&'a str> {
    span["meta"].as_map()?.iter().find(|(k, _)| k.as_str() == Some(key))?.1.as_str()
}

/// Runs the fixture sending its traces to a Datadog agent on loopback; the lines and the spans
/// the agent received, by resource.
fn run_with_datadog(env: &[(&str, &str)], parse: fn(&str) -> Line) -> (Vec<Line>, BTreeMap<String, DdSpan>) {
    let agent = Agent::start();
    let url = agent.url();
    let mut env = env.to_vec();
    env.extend([
        ("OTEL_TRACES_EXPORTER", "datadog"),
        ("DD_TRACE_AGENT_URL", url.as_str()),
        ("DD_ENV", "prod"),
        ("DD_VERSION", "2.0"),
    ]);
    let output = run(&fresh_dir("datadog"), &env);
    wait_until("the fixture's spans", Duration::from_secs(10), || agent.received.lock().unwrap().spans().count() >= 3);
    let received = agent.received.lock().unwrap();
    let spans = received.spans().map(|s| (s["resource"].as_str().unwrap().to_owned(), s.clone())).collect();
    (output.iter().map(|line| parse(line)).collect(), spans)
}

/// The span's `trace_id` (the low 64 bits) and its chunk's `_dd.p.tid` (the high 64 bits).
fn trace_halves(spans: &BTreeMap<String, DdSpan>) -> (u64, String) {
    let root = &spans["place_order"];
    (root["trace_id"].as_u64().unwrap(), meta(root, "_dd.p.tid").expect("_dd.p.tid").to_owned())
}

#[test]
fn dd_fields_match_the_ids_the_datadog_agent_received() {
    // JSON, with 128-bit trace ids logged whole (the default).
    let (lines, spans) = run_with_datadog(&[("SPANSCOPE_LOGS_CONSOLE_FORMAT", "json")], parse_json);
    assert_eq!(lines.len(), 5, "{lines:#?}");
    let (low, high) = trace_halves(&spans);
    for (body, resource) in [("order placed", "place_order"), ("priced", "price"), ("hostile", "place_order")] {
        let line = record(&lines, body);
        let span = &spans[resource];
        assert_eq!(line.get("dd.trace_id"), Some(format!("{high}{low:016x}").as_str()), "{line:?}");
        assert_eq!(line.get("dd.trace_id"), line.get("trace_id"), "the same 128 bits");
        assert_eq!(line.get("dd.span_id"), Some(span["span_id"].as_u64().unwrap().to_string().as_str()));
        assert_eq!(line.get("dd.service"), span["service"].as_str());
        assert_eq!((line.get("dd.env"), line.get("dd.version")), (Some("prod"), Some("2.0")));
    }
    let outside = record(&lines, "outside any span");
    assert_eq!((outside.get("dd.trace_id"), outside.get("dd.span_id")), (None, None));
    assert_eq!((outside.get("dd.service"), outside.get("dd.env")), (Some("fixture"), Some("prod")));

    // Text, with trace ids logged as the decimal of their low 64 bits.
    let env = [("DD_TRACE_128_BIT_TRACEID_LOGGING_ENABLED", "false")];
    let (lines, spans) = run_with_datadog(&env, parse_text);
    let (low, _) = trace_halves(&spans);
    for (body, resource) in [("order placed", "place_order"), ("priced", "price")] {
        let line = record(&lines, body);
        assert_eq!(line.get("dd.trace_id"), Some(low.to_string().as_str()), "{line:?}");
        assert_eq!(line.get("dd.span_id"), Some(spans[resource]["span_id"].as_u64().unwrap().to_string().as_str()));
        assert_eq!((line.get("dd.service"), line.get("dd.version")), (Some("fixture"), Some("2.0")));
    }
    assert_eq!(record(&lines, "outside any span").get("dd.trace_id"), None);
}

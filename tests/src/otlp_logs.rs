//! What the OTLP-shaped logs exporters' tests share (`otlp` and `local`, whose lines are the
//! same requests): the bridges installed, the records [`emit`] makes through `log` and
//! `tracing` inside a sampled entry span and its local child, inside an unsampled entry span and
//! outside any span, and [`check`], which finds each of them among the exported records and
//! joins it to the spans exported in the same run by trace id and span id.

use std::collections::HashMap;
use std::sync::Once;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use spanscope::{entry, local, Guard, Signal, Stats};

use crate::collector::shut_down_while_down;

/// The trace the unsampled request continues; its caller's flags say "not sampled".
pub const UNSAMPLED_TRACE: &str = "5a7e5a7e5a7e5a7e5a7e5a7e5a7e5a7e";
/// The unsampled request's caller.
pub const UNSAMPLED_CALLER: &str = "1111111111111111";

/// The names of the spans [`emit`] opens.
pub const CHECKOUT: &str = "logs.checkout";
pub const PRICE: &str = "logs.price";

/// Installs the `log` bridge and a global `tracing` subscriber with spanscope's layer, once per
/// process; each spanscope run that follows receives their records.
pub fn install_bridges() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        use tracing_subscriber::layer::SubscriberExt;
        spanscope::log::init().expect("no other logger is installed");
        let subscriber = tracing_subscriber::registry().with(spanscope::tracing::layer());
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
    });
}

/// The lines of [`emit`]'s records, by body.
#[derive(Debug, Clone, Default)]
pub struct Lines(pub HashMap<&'static str, u32>);

/// How many records [`emit`] makes.
pub const EMITTED: u64 = 6;

/// Makes six records (see [`check`]); returns the line of each, by body.
pub fn emit() -> Lines {
    let mut lines = Lines::default();
    // Outside any span.
    lines.0.insert("listening", line!() + 1);
    log::info!(target: "shop::boot", port = 8080; "listening");
    lines.0.insert("ready", line!() + 1);
    tracing::info!(target: "shop::boot", ready = true, "ready");
    checkout(&mut lines);
    let headers = HashMap::from([("traceparent".to_owned(), format!("00-{UNSAMPLED_TRACE}-{UNSAMPLED_CALLER}-00"))]);
    unsampled(&headers, &mut lines);
    lines
}

#[entry(name = "logs.checkout")]
fn checkout(lines: &mut Lines) {
    lines.0.insert("order 7 placed", line!() + 1);
    log::info!(target: "shop::orders", order_id = 7, total = 12.5, paid = true, note = "gift"; "order {} placed", 7);
    price(lines);
}

#[local(name = "logs.price")]
fn price(lines: &mut Lines) {
    lines.0.insert("price 42", line!() + 1);
    tracing::warn!(target: "shop::price", big = u64::MAX, count = 3u64, discount = -2i64, ratio = 0.5, "price {}", 42);
}

#[entry(name = "logs.unsampled", headers = headers)]
fn unsampled(headers: &HashMap<String, String>, lines: &mut Lines) {
    lines.0.insert("unsampled order", line!() + 1);
    log::warn!(target: "shop::orders", "unsampled order");
    lines.0.insert("unsampled failure", line!() + 1);
    tracing::error!(target: "shop::orders", attempt = 2, "unsampled failure");
}

/// An exported span: its trace id and span id in hex, and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanRef {
    pub trace_id: String,
    pub span_id: String,
    pub name: String,
}

/// Lowercase hex of an id's bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A record's attributes by key.
pub fn attributes(record: &LogRecord) -> HashMap<&str, Value> {
    record.attributes.iter().filter_map(|kv| Some((kv.key.as_str(), kv.value.as_ref()?.value.clone()?))).collect()
}

/// The `service.name` of a request's resource.
pub fn service_name(request: &ExportLogsServiceRequest) -> Option<Value> {
    let resource = request.resource_logs.first()?.resource.as_ref()?;
    resource.attributes.iter().find(|kv| kv.key == "service.name")?.value.as_ref()?.value.clone()
}

/// A string value.
pub fn string(text: &str) -> Value {
    Value::StringValue(text.to_owned())
}

/// Checks the records `emit` made (returning `lines`) among `records` (each with its scope's
/// name), joined to `spans`, exported in the same run. `how` names the exporter in messages.
///
/// # Panics
/// If a record is missing, twice there, or not as made.
pub fn check(records: &[(String, LogRecord)], spans: &[SpanRef], lines: &Lines, how: &str) {
    let find = |body: &str| -> (&str, &LogRecord) {
        let found: Vec<_> = records
            .iter()
            .filter(|(_, r)| matches!(r.body.as_ref().and_then(|b| b.value.as_ref()), Some(Value::StringValue(b)) if b == body))
            .collect();
        assert_eq!(found.len(), 1, "{how}: one record {body:?} in {records:#?}");
        (&found[0].0, &found[0].1)
    };
    let span_named = |name: &str| -> &SpanRef {
        spans.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("{how}: span {name} exported: {spans:?}"))
    };
    // The span a record was made in, among those exported.
    let joined = |record: &LogRecord| -> Option<&SpanRef> {
        let (trace_id, span_id) = (hex(&record.trace_id), hex(&record.span_id));
        spans.iter().find(|s| s.trace_id == trace_id && s.span_id == span_id)
    };
    let check_common = |body: &'static str, scope: &str, severity: (i32, &str)| -> &LogRecord {
        let (record_scope, record) = find(body);
        assert_eq!(record_scope, scope, "{how}: {body}: the scope is the target");
        assert_eq!((record.severity_number, record.severity_text.as_str()), severity, "{how}: {body}");
        assert!(record.time_unix_nano > 0, "{how}: {body}");
        assert_eq!(record.observed_time_unix_nano, record.time_unix_nano, "{how}: {body}");
        let attributes = attributes(record);
        match &attributes["code.file.path"] {
            Value::StringValue(path) => assert!(path.ends_with("src/otlp_logs.rs"), "{how}: {body}: {path}"),
            other => panic!("{how}: {body}: code.file.path {other:?}"),
        }
        assert_eq!(attributes["code.line.number"], Value::IntValue(lines.0[body].into()), "{how}: {body}");
        assert_eq!(record.dropped_attributes_count, 0, "{how}: {body}");
        record
    };
    const INFO: (i32, &str) = (9, "INFO");

    // Outside any span: no ids, no flags, still exported.
    for (body, key, value) in [("listening", "port", Value::IntValue(8080)), ("ready", "ready", Value::BoolValue(true))]
    {
        let record = check_common(body, "shop::boot", INFO);
        assert!(record.trace_id.is_empty() && record.span_id.is_empty(), "{how}: {body}: {record:?}");
        assert_eq!(record.flags, 0, "{how}: {body}");
        assert_eq!(attributes(record)[key], value, "{how}: {body}");
    }

    // In the sampled entry span, through `log`, with its key-values typed.
    let placed = check_common("order 7 placed", "shop::orders", INFO);
    let checkout = span_named(CHECKOUT);
    assert_eq!(joined(placed), Some(checkout), "{how}: the record names its span: {placed:?}");
    assert_eq!(placed.flags & 0xff, 0x01, "{how}: sampled");
    let attrs = attributes(placed);
    assert_eq!(attrs["order_id"], Value::IntValue(7), "{how}");
    assert_eq!(attrs["total"], Value::DoubleValue(12.5), "{how}");
    assert_eq!(attrs["paid"], Value::BoolValue(true), "{how}");
    assert_eq!(attrs["note"], string("gift"), "{how}");

    // In its local child, through `tracing`: a `u64` past `i64::MAX` is its decimal string.
    let priced = check_common("price 42", "shop::price", (13, "WARN"));
    let price = span_named(PRICE);
    assert_eq!(joined(priced), Some(price), "{how}: {priced:?}");
    assert_eq!(price.trace_id, checkout.trace_id, "{how}");
    let attrs = attributes(priced);
    assert_eq!(attrs["big"], string(&u64::MAX.to_string()), "{how}");
    assert_eq!(attrs["count"], Value::IntValue(3), "{how}");
    assert_eq!(attrs["discount"], Value::IntValue(-2), "{how}");
    assert_eq!(attrs["ratio"], Value::DoubleValue(0.5), "{how}");

    // In the unsampled entry span: its trace id and a span id with flags 0, though no span of
    // that trace is exported.
    let unsampled_order = check_common("unsampled order", "shop::orders", (13, "WARN"));
    let unsampled_failure = check_common("unsampled failure", "shop::orders", (17, "ERROR"));
    assert_eq!(attributes(unsampled_failure)["attempt"], Value::IntValue(2), "{how}");
    for record in [unsampled_order, unsampled_failure] {
        assert_eq!(hex(&record.trace_id), UNSAMPLED_TRACE, "{how}: {record:?}");
        assert_eq!(record.span_id.len(), 8, "{how}: {record:?}");
        assert_ne!(record.span_id, [0; 8], "{how}: {record:?}");
        assert_eq!(record.flags, 0, "{how}: not sampled");
    }
    assert_eq!(unsampled_order.span_id, unsampled_failure.span_id, "{how}: one span");
    assert_ne!(hex(&unsampled_order.span_id), UNSAMPLED_CALLER, "{how}: the unsampled span's own id, not its caller's");
    assert!(spans.iter().all(|s| s.trace_id != UNSAMPLED_TRACE), "{how}: the unsampled trace is not exported");
}

/// With the logs backend of `guard`'s run down (nothing listening) and `made` records made
/// already: a flush cannot finish while the application goes on logging (`emit_more` runs
/// 10,000 times meanwhile, making `more` records each time), and at shutdown every record is
/// counted as lost, once, in the exporter's counts and the process-wide ones since `before`.
///
/// # Panics
/// If any of that does not hold.
pub fn assert_a_down_backend_loses_only_what_it_counts(
    guard: Guard,
    before: &Stats,
    made: u64,
    emit_more: impl Fn(),
    more: u64,
) {
    let (after, exporter) = shut_down_while_down(guard, Signal::Logs, emit_more);
    let made = made + 10_000 * more;
    let lost = exporter.dropped_backend_down + exporter.dropped_shutdown;
    let queue_full = after.log_records_dropped_queue_full - before.log_records_dropped_queue_full;
    let rate_limited = after.log_records_rate_limited - before.log_records_rate_limited;
    assert_eq!(lost + queue_full + rate_limited, made, "every record is counted once: {exporter:?}");
    assert!(exporter.dropped_backend_down > 0, "beyond the backlog while down: {exporter:?}");
    assert_eq!(
        after.log_records_dropped_backend_down + after.log_records_dropped_shutdown
            - before.log_records_dropped_backend_down
            - before.log_records_dropped_shutdown,
        lost
    );
    assert_eq!(after.log_records_exported, before.log_records_exported);
}

//! Library code instrumented with the OpenTelemetry API inside spanscope spans: with
//! spanscope installed as OpenTelemetry's tracer provider, its spans are recorded and exported
//! by spanscope, under the spanscope span that called it.
//!
//! ```text
//! OTEL_TRACES_EXPORTER=console cargo run --example opentelemetry_bridge
//! ```

use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt as _, Tracer as _};
use opentelemetry::KeyValue;
use spanscope::{entry, local};

/// A library that knows only the OpenTelemetry API.
mod storage {
    use super::*;

    /// Parents its span on whatever OpenTelemetry context is current: with none, spanscope's
    /// current span.
    pub fn query(sql: &'static str) -> usize {
        opentelemetry::global::tracer("storage").in_span("query", |cx| {
            let span = cx.span();
            span.set_attribute(KeyValue::new("db.query.text", sql));
            span.add_event("rows fetched", vec![KeyValue::new("rows", 2)]);
            2
        })
    }

    /// Takes its parent explicitly, as some libraries do.
    pub fn publish(parent: &opentelemetry::Context, topic: &'static str) {
        let tracer = opentelemetry::global::tracer("storage");
        let mut span = tracer
            .span_builder("publish")
            .with_kind(SpanKind::Producer)
            .with_attributes([
                KeyValue::new("peer.service", "queue"),
                KeyValue::new("messaging.destination.name", topic),
            ])
            .start_with_context(&tracer, parent);
        if topic.is_empty() {
            span.set_status(Status::error("no topic"));
        }
        span.end();
    }
}

#[entry(name = "GET /report")]
fn report() -> usize {
    let rows = storage::query("SELECT * FROM orders");
    notify();
    rows
}

#[local]
fn notify() {
    storage::publish(&spanscope::opentelemetry::context(), "reports");
}

#[spanscope::main(service = "opentelemetry-bridge")]
fn main() {
    spanscope::opentelemetry::install();
    println!("report: {} rows", report());
}

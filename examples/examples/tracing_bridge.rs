//! Library code instrumented with `tracing` inside spanscope spans: its spans and events show
//! up in the trace, under the spanscope span that called it.
//!
//! ```text
//! OTEL_TRACES_EXPORTER=console cargo run --example tracing_bridge
//! ```

use spanscope::entry;
use spanscope::tracing::SpanExt as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// A library that knows only `tracing`.
mod inventory {
    #[tracing::instrument(name = "reserve", err, fields(warehouse = "north"))]
    pub fn reserve(item: &str, quantity: u32) -> Result<u32, String> {
        tracing::info!(quantity, "checking stock");
        let available = stock(item);
        if available < quantity {
            return Err(format!("only {available} {item} left"));
        }
        Ok(available - quantity)
    }

    #[tracing::instrument(name = "stock lookup", level = "debug")]
    fn stock(item: &str) -> u32 {
        item.len() as u32
    }
}

#[entry(name = "POST /cart")]
fn add_to_cart(item: &str, quantity: u32) -> Result<u32, String> {
    // Log lines can carry the trace id: the current `tracing` span's spanscope ids.
    if let Some(context) = tracing::Span::current().spanscope_context() {
        println!("trace {} — adding {quantity} {item}", context.trace_id);
    }
    inventory::reserve(item, quantity)
}

#[spanscope::main(service = "tracing-bridge")]
fn main() {
    tracing_subscriber::registry().with(spanscope::tracing::layer()).init();
    for (item, quantity) in [("pencil", 2), ("map", 9)] {
        match add_to_cart(item, quantity) {
            Ok(left) => println!("{item}: {left} left"),
            Err(error) => println!("{item}: {error}"),
        }
    }
}

//! Logs from `tracing` events and `log` records, each with the ids of the request's span: an
//! axum service behind `spanscope::tower::ServerLayer`, its handler logging with both facades.
//!
//! ```text
//! OTEL_LOGS_EXPORTER=console cargo run --example logs
//! OTEL_LOGS_EXPORTER=console SPANSCOPE_LOGS_CONSOLE_FORMAT=json cargo run --example logs
//! ```
//!
//! The example serves on a loopback port, sends itself a few requests and exits. Every line
//! carries `trace_id` and `span_id`: the request's entry span, or the handler's `#[local]` span
//! for the lines logged inside it. Without `OTEL_LOGS_EXPORTER` the records go to
//! `spanscope-out/logs.jsonl` (OTLP/JSON) beside the spans in `traces.jsonl`.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use spanscope::local;
use spanscope::tower::ServerLayer;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

type Error = Box<dyn std::error::Error + Send + Sync>;

async fn item(Path(name): Path<String>) -> Result<String, StatusCode> {
    tracing::info!(item = %name, "looking up");
    match price(&name) {
        0 => {
            tracing::warn!(item = %name, "no such item");
            Err(StatusCode::NOT_FOUND)
        }
        cents => Ok(format!("{name}: {cents} cents")),
    }
}

/// Logs with the `log` crate, as a dependency that knows nothing of `tracing` would.
#[local]
fn price(name: &str) -> u64 {
    let cents = if name == "unicorn" { 0 } else { name.bytes().map(u64::from).sum() };
    log::debug!(name; "not kept: below the default `info` filter");
    log::info!(name, cents; "priced");
    cents
}

#[spanscope::main(service = "logs-example")]
async fn main() -> Result<(), Error> {
    tracing_subscriber::registry().with(spanscope::tracing::layer()).init();
    spanscope::log::init()?;
    let app = Router::new().route("/items/{name}", get(item)).layer(ServerLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    tracing::info!(%addr, "serving");

    let client = reqwest::Client::new();
    for path in ["/items/apple", "/items/unicorn"] {
        let response = client.get(format!("http://{addr}{path}")).send().await?;
        println!("GET {path} → {}", response.status());
    }
    server.abort();
    Ok(())
}

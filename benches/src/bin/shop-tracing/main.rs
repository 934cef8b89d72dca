//! The `shop` demo's three services built the way a `tracing` + OpenTelemetry user builds them:
//! tower-http's `TraceLayer` on the servers, `#[tracing::instrument]` on the client calls and the
//! business functions, tracing-opentelemetry and the OpenTelemetry SDK's batch processor writing
//! OTLP/JSON lines to a file, W3C propagation. The business logic is the demo's own
//! (`examples::shop`), so the end-to-end benchmark (`benches/benches/e2e.rs`) compares the two
//! stacks doing the same work.
//!
//! ```text
//! shop-tracing inventory [--port 0] [--out DIR]
//! shop-tracing orders    [--port 0] [--out DIR] --downstream 127.0.0.1:<inventory port>
//! shop-tracing frontend  [--port 0] [--out DIR] --downstream 127.0.0.1:<orders port>
//! ```
//!
//! The same command line as `shop serve <role>`: each prints its port as its first line and
//! serves until its standard input closes, then flushes its spans to `DIR/traces.jsonl`.

mod frontend;
mod inventory;
mod orders;
mod telemetry;

use std::net::SocketAddr;
use std::path::PathBuf;

use tokio::net::TcpListener;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let role = args.next().ok_or("usage: shop-tracing <role> [--port N] [--out DIR] [--downstream HOST:PORT]")?;
    let (mut port, mut out, mut downstream) = (0, PathBuf::from("spanscope-out/shop-tracing").join(&role), None);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--port" => port = value.parse()?,
            "--out" => out = PathBuf::from(value),
            "--downstream" => downstream = Some(value.parse::<SocketAddr>()?),
            _ => return Err(format!("unknown option {flag}").into()),
        }
    }
    let provider = telemetry::install(&role, &out)?;
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("{}", listener.local_addr()?.port());
    let needs_downstream = || downstream.ok_or_else(|| format!("{role} needs --downstream HOST:PORT"));
    match role.as_str() {
        "inventory" => inventory::serve(listener, stdin_closed()).await?,
        "orders" => orders::serve(listener, needs_downstream()?, stdin_closed()).await?,
        "frontend" => frontend::serve(listener, needs_downstream()?, stdin_closed()).await?,
        _ => return Err(format!("unknown role {role:?}").into()),
    }
    provider.shutdown()?;
    Ok(())
}

/// Resolves when standard input closes: the parent's way of saying "stop".
async fn stdin_closed() {
    let _ = tokio::io::copy(&mut tokio::io::stdin(), &mut tokio::io::sink()).await;
}

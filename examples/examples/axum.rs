//! An axum service traced by one layer: `spanscope::tower::ServerLayer`.
//!
//! ```text
//! cargo run --example axum
//! ```
//!
//! Every request gets an entry span named after its route (`GET /items/{name}`, with
//! `http.route`, `http.response.status_code`, `server.address`, ...), continuing the caller's
//! trace if the request carries one; the handler's `#[local]` span is its child. The example
//! serves on a loopback port, sends itself a few requests and exits; the spans go to
//! `spanscope-out/traces.jsonl` (the path is printed at exit), or to the console with
//! `OTEL_TRACES_EXPORTER=console`.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use spanscope::local;
use spanscope::tower::ServerLayer;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// A handler: its span is the request's entry span, `price` a child of it.
async fn item(Path(name): Path<String>) -> Result<String, StatusCode> {
    match price(&name) {
        0 => Err(StatusCode::NOT_FOUND),
        cents => Ok(format!("{name}: {cents} cents")),
    }
}

#[local]
fn price(name: &str) -> u64 {
    if name == "unicorn" {
        return 0;
    }
    name.bytes().map(u64::from).sum()
}

#[spanscope::main(service = "axum-example")]
async fn main() -> Result<(), Error> {
    let app = Router::new().route("/items/{name}", get(item)).layer(ServerLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let client = reqwest::Client::new();
    for path in ["/items/apple", "/items/pear", "/items/unicorn", "/nowhere"] {
        let response = client.get(format!("http://{addr}{path}")).send().await?;
        println!("GET {path} → {}", response.status());
    }
    server.abort();
    Ok(())
}

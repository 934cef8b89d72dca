//! A reqwest client traced by one middleware: `spanscope::reqwest::Middleware`.
//!
//! ```text
//! cargo run --example reqwest
//! ```
//!
//! Each request the client sends is an exit span (`GET`, with the server's `host:port` as peer,
//! `url.full` and `http.response.status_code`) under the caller's span, and carries the trace
//! context in its headers. The example starts a small axum server on loopback, instrumented with
//! `ServerLayer`, which continues that context: one trace per call, client span → server span.
//! Spans go to `spanscope-out/traces.jsonl` (the path is printed at exit).

use axum::http::HeaderMap;
use axum::routing::get;
use axum::Router;
use reqwest_middleware::ClientWithMiddleware;
use spanscope::local;
use spanscope::tower::ServerLayer;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The server's answer: the trace context the request arrived with.
async fn stock(headers: HeaderMap) -> String {
    let traceparent = headers.get("traceparent").and_then(|v| v.to_str().ok()).unwrap_or("none");
    format!("3 in stock (traceparent {traceparent})")
}

/// The caller's own span; the request's exit span is its child.
#[local]
async fn check_stock(client: &ClientWithMiddleware, url: &str) -> Result<String, Error> {
    Ok(client.get(url).send().await?.text().await?)
}

#[spanscope::main(service = "reqwest-example")]
async fn main() -> Result<(), Error> {
    let app = Router::new().route("/stock", get(stock)).layer(ServerLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(spanscope::reqwest::Middleware::new())
        .build();
    println!("{}", check_stock(&client, &format!("http://{addr}/stock")).await?);
    // A port nothing listens on: the exit span records the connection error.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    if let Err(error) = check_stock(&client, &format!("http://{closed}/stock")).await {
        println!("unreachable server: {error}");
    }
    server.abort();
    Ok(())
}

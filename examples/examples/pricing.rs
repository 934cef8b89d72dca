//! The README's quick start, kept here so that it always compiles: an axum service whose every
//! request is an entry span, with a `#[local]` child whose CPU samples carry the tenant.
//!
//! ```text
//! cargo run --example pricing      # then: curl localhost:3000/price/acme
//! ```

use axum::{extract::Path, routing::get, Router};
use spanscope::{local, profiled, tower::ServerLayer};
spanscope::tags! { pub tenant: String }
#[local] // a child span of the request's entry span
#[profiled(tenant = tenant.to_owned())] // every CPU sample taken inside knows the tenant
fn price(tenant: &str) -> u64 {
    // A few milliseconds of CPU for the profile to show: 500,000 items, each discounted by the
    // total so far.
    let markup = tenant.len() as u64;
    (1..=500_000).fold(0, |total, cost| total + (cost + markup) * (100 - total % 20) / 100)
}
#[spanscope::main(service = "pricing")] // config from the environment, exporters, profiler, flush at exit
async fn main() {
    let app = Router::new()
        .route("/price/{tenant}", get(|Path(tenant): Path<String>| async move { price(&tenant).to_string() }))
        .layer(ServerLayer::new()); // an entry span per request, continuing the caller's trace
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await.unwrap();
    axum::serve(listener, app).await.unwrap();
}

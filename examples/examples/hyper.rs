//! Plain hyper, traced with the tower layers: `ServerLayer` on the server (through hyper-util's
//! `TowerToHyperService`) and `ClientLayer` on hyper-util's client.
//!
//! ```text
//! cargo run --example hyper
//! ```
//!
//! The client's exit span (`GET`, peer `127.0.0.1:PORT`) writes the trace context into the
//! request; the server's entry span continues it, and the handler's `#[local]` span is under
//! that: one trace, client span → server span → local span. Spans go to
//! `spanscope-out/traces.jsonl` (the path is printed at exit).

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use spanscope::local;
use spanscope::tower::{ClientLayer, ServerLayer};
use tower::{Layer, ServiceExt};

type Error = Box<dyn std::error::Error + Send + Sync>;

async fn handle(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let count = count(request.uri().path());
    Ok(Response::new(Full::new(Bytes::from(format!("{count} in stock")))))
}

#[local]
fn count(path: &str) -> usize {
    path.len() % 7
}

/// The caller's own span; the request's exit span is its child.
#[local]
async fn fetch(url: String) -> Result<String, Error> {
    let client = ClientLayer::new().layer(Client::builder(TokioExecutor::new()).build_http());
    let response = client.oneshot(Request::get(url).body(Full::<Bytes>::default())?).await?;
    let body = response.into_body().collect().await?.to_bytes();
    Ok(String::from_utf8_lossy(&body).into_owned())
}

#[spanscope::main(service = "hyper-example")]
async fn main() -> Result<(), Error> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let service = ServerLayer::new().layer(tower::service_fn(handle));
    let server = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service));
        }
    });

    for item in ["lamp", "book"] {
        println!("{item}: {}", fetch(format!("http://{addr}/stock/{item}")).await?);
    }
    server.abort();
    Ok(())
}

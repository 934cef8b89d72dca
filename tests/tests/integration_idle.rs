//! The HTTP/gRPC layers with spanscope never initialised (this binary never calls `setup`):
//! requests and responses pass through unchanged, no context is written, no span is current.

use std::net::SocketAddr;

use axum::http::HeaderMap;
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use spanscope::tower::{ClientLayer, ServerLayer};
use tower::{Layer, ServiceExt};

/// The request's headers and whether a span was current in the handler.
async fn report(headers: HeaderMap) -> String {
    let mut names: Vec<_> = headers.keys().map(|k| k.as_str().to_owned()).collect();
    names.sort();
    format!("{} current={}", names.join(","), spanscope::current().is_recording())
}

async fn serve() -> SocketAddr {
    let app = Router::new().route("/report", get(report)).layer(ServerLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[tokio::test]
async fn layers_and_middleware_pass_requests_through_unchanged() {
    let addr = serve().await;
    let hyper_client = ClientLayer::new().layer(Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>());
    let request = http::Request::get(format!("http://{addr}/report")).body(Full::new(Bytes::new())).unwrap();
    let response = hyper_client.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "host current=false");

    let reqwest_client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(spanscope::reqwest::Middleware::new())
        .build();
    let text = reqwest_client.get(format!("http://{addr}/report")).send().await.unwrap().text().await.unwrap();
    assert_eq!(text, "accept,host current=false");
    assert_eq!(spanscope::stats().segments_exported, 0);
}

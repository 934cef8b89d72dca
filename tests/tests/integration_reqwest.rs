//! `spanscope::reqwest::Middleware` against a real axum server on loopback: the context it injects
//! is the one the server continues, status and transport failures are recorded as errors.

use std::net::SocketAddr;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::Router;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use spanscope::local;
use spanscope::tower::ServerLayer;
use spanscope_tests::{exported, setup, SpanSet, CLIENT, SERVER};

/// Echoes the `traceparent` header the request came with.
async fn echo_traceparent(headers: HeaderMap) -> String {
    headers.get("traceparent").and_then(|v| v.to_str().ok()).unwrap_or("none").to_owned()
}

async fn serve() -> SocketAddr {
    let app = Router::new()
        .route("/echo", get(echo_traceparent))
        .route("/fail", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
        .layer(ServerLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn client() -> ClientWithMiddleware {
    ClientBuilder::new(reqwest::Client::new()).with(spanscope::reqwest::Middleware::new()).build()
}

/// GETs `url` under a local span; the status and body, or the error's text.
#[local]
async fn fetch(url: String) -> Result<(u16, String), String> {
    let response = client().get(url).send().await.map_err(|e| e.to_string())?;
    Ok((response.status().as_u16(), response.text().await.map_err(|e| e.to_string())?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_injected_context_is_continued_by_the_server() {
    let dir = setup();
    let addr = serve().await;
    let (status, seen) = fetch(format!("http://{addr}/echo?q=1")).await.unwrap();
    assert_eq!(status, 200);
    let spans = exported(dir);

    let exit = spans
        .iter()
        .find(|s| s.kind == CLIENT && s.attributes["url.full"] == format!("http://{addr}/echo?q=1").as_str());
    let exit = exit.expect("the exit span");
    assert_eq!(exit.name, "GET");
    assert_eq!(exit.attributes["http.request.method"], "GET");
    assert_eq!(exit.attributes["http.response.status_code"], 200);
    assert_eq!(exit.attributes["server.address"], "127.0.0.1");
    assert_eq!(exit.attributes["server.port"], i64::from(addr.port()));
    assert_eq!(exit.status_code, 0);
    exit.assert_child_of(spans.by_id(exit.parent_span_id.as_deref().unwrap()));
    assert_eq!(seen, format!("00-{}-{}-01", exit.trace_id, exit.span_id), "the server saw the exit span's context");
    let entry = spans.in_trace(&exit.trace_id).into_iter().find(|s| s.kind == SERVER).expect("the server's span");
    entry.assert_child_of(exit);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_refused_connections_fail_the_exit_span() {
    let dir = setup();
    let addr = serve().await;
    assert_eq!(fetch(format!("http://{addr}/fail")).await.unwrap().0, 500);
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let refused = fetch(format!("http://{closed}/nothing")).await.unwrap_err();
    let spans = exported(dir);

    let failed = spans.iter().find(|s| s.kind == CLIENT && s.attributes["server.port"] == i64::from(addr.port()));
    let failed = failed.expect("the 500's exit span");
    assert_eq!((failed.status_code, &failed.attributes["http.response.status_code"]), (2, &500.into()));
    let unreachable =
        spans.iter().find(|s| s.kind == CLIENT && s.attributes["server.port"] == i64::from(closed.port()));
    let unreachable = unreachable.expect("the refused request's exit span");
    assert_eq!(unreachable.status_code, 2);
    assert!(!unreachable.attributes.contains_key("http.response.status_code"));
    assert_eq!(unreachable.status_message.as_deref(), Some(refused.as_str()));
}

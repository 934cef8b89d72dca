//! `spanscope::tower::ServerLayer` in a real axum server on loopback: span names and tags from the
//! matched route, status and errors, contexts continued from `traceparent` and `sw8`, malformed
//! contexts starting a fresh trace, and handler spans parented to the request's entry span.

use std::net::SocketAddr;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use spanscope::local;
use spanscope::tower::ServerLayer;
use spanscope_tests::{exported, setup_with_sw8, ExportedSpan, SpanSet, INTERNAL, SERVER};

#[local]
async fn load(id: u32) -> u32 {
    tokio::task::yield_now().await;
    id * 2
}

/// Answers with the ids of the span current in the handler, then the trace.
async fn order(Path(id): Path<u32>) -> String {
    let doubled = load(id).await;
    let context = spanscope::current().context().expect("a span is current in the handler");
    format!("{} {} {doubled}", context.span_id, context.trace_id)
}

async fn fail() -> StatusCode {
    StatusCode::SERVICE_UNAVAILABLE
}

async fn teapot() -> StatusCode {
    StatusCode::IM_A_TEAPOT
}

/// The app under test: `layer` wraps every route and the fallback.
fn app() -> Router {
    Router::new()
        .route("/orders/{id}", get(order))
        .route("/fail", get(fail))
        .route("/teapot", get(teapot))
        .layer(ServerLayer::new())
}

async fn serve_app(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn serve() -> SocketAddr {
    serve_app(app()).await
}

/// GET `path` with `headers`; the status and body.
async fn get_with(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut request = reqwest::Client::new().get(format!("http://{addr}{path}")).header("user-agent", "itest/1.0");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The only entry span that served `path`.
fn served<'a>(spans: &'a [ExportedSpan], path: &str) -> &'a ExportedSpan {
    let found: Vec<_> = spans.iter().filter(|s| s.kind == SERVER && s.attributes["url.path"] == path).collect();
    assert_eq!(found.len(), 1, "one entry span for {path}: {found:?}");
    found[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_name_and_tag_spans_and_handler_spans_are_children() {
    let dir = setup_with_sw8();
    let addr = serve().await;
    let (status, body) = get_with(addr, "/orders/7", &[]).await;
    assert_eq!(status, 200);
    let scoped = Router::new().route("/scoped/{name}", get(|| async { "scoped" })).route_layer(ServerLayer::new());
    assert_eq!(get_with(serve_app(scoped).await, "/scoped/x", &[]).await.0, 200);
    let spans = exported(dir);

    let entry = served(&spans, "/orders/7");
    assert_eq!(entry.name, "GET /orders/{id}");
    assert_eq!(entry.attributes["http.route"], "/orders/{id}");
    assert_eq!(entry.attributes["http.request.method"], "GET");
    assert_eq!(entry.attributes["http.response.status_code"], 200);
    assert_eq!(entry.attributes["server.address"], "127.0.0.1");
    assert_eq!(entry.attributes["server.port"], i64::from(addr.port()));
    assert_eq!(entry.attributes["network.protocol.version"], "1.1");
    assert_eq!(entry.attributes["user_agent.original"], "itest/1.0");
    assert_eq!(entry.status_code, 0);
    assert_eq!(entry.parent_span_id, None, "no incoming context: a new trace");

    let load = spans.in_trace(&entry.trace_id).into_iter().find(|s| s.name == "load").expect("the #[local] span");
    assert_eq!(load.kind, INTERNAL);
    load.assert_child_of(entry);
    assert_eq!(body, format!("{} {} 14", entry.span_id, entry.trace_id), "current() in the handler is the entry span");

    let scoped = served(&spans, "/scoped/x");
    assert_eq!(scoped.name, "GET /scoped/{name}", "route_layer sees the matched path too");
    assert_eq!(scoped.attributes["http.route"], "/scoped/{name}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_fail_the_span_and_unrouted_requests_have_no_route() {
    let dir = setup_with_sw8();
    let addr = serve().await;
    assert_eq!(get_with(addr, "/fail", &[]).await.0, 503);
    assert_eq!(get_with(addr, "/teapot", &[]).await.0, 418);
    assert_eq!(get_with(addr, "/nowhere/at/all", &[]).await.0, 404);
    let spans = exported(dir);

    let failed = served(&spans, "/fail");
    assert_eq!((failed.status_code, &failed.attributes["http.response.status_code"]), (2, &503.into()));
    assert_eq!(failed.attributes["error.type"], "503");
    let teapot = served(&spans, "/teapot");
    assert_eq!(teapot.status_code, 0, "a 4xx is the client's error, not the server's");
    let unrouted = served(&spans, "/nowhere/at/all");
    assert_eq!(unrouted.name, "GET");
    assert!(!unrouted.attributes.contains_key("http.route"));
    assert_eq!(unrouted.attributes["http.response.status_code"], 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incoming_contexts_are_continued_and_malformed_ones_start_a_fresh_trace() {
    let dir = setup_with_sw8();
    let addr = serve().await;
    let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    get_with(addr, "/orders/1", &[("traceparent", traceparent)]).await;
    let sw8 = "1-NGJmOTJmMzU3N2IzNGRhNmEzY2U5MjlkMGUwZTQ3MzY=-NQ==-3-bWVzaA==-aW5zdGFuY2U=-L2FwaS92MS9oZWFsdGg=-ZXhhbXBsZS5jb206ODA4MA==";
    get_with(addr, "/orders/2", &[("sw8", sw8)]).await;
    let before = spanscope::stats().traceparent_malformed;
    get_with(addr, "/orders/3", &[("traceparent", "00-0af7651916cd43dd8448eb211c80319c-zzzz6b7169203331-01")]).await;
    assert_eq!(spanscope::stats().traceparent_malformed, before + 1);
    let spans = exported(dir);

    let from_w3c = served(&spans, "/orders/1");
    assert_eq!(from_w3c.trace_id, "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(from_w3c.parent_span_id.as_deref(), Some("b7ad6b7169203331"));
    let from_sw8 = served(&spans, "/orders/2");
    assert_eq!(from_sw8.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert!(from_sw8.parent_span_id.is_some(), "the SkyWalking caller's span is the parent");
    let fresh = served(&spans, "/orders/3");
    assert_ne!(fresh.trace_id, "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(fresh.parent_span_id, None);
    assert_eq!(fresh.name, "GET /orders/{id}");
}

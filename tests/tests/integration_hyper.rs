//! `ServerLayer` and `ClientLayer` with plain hyper on loopback: a request crossing two services
//! (test → front → back) is one trace whose client spans parent the next server span, with the
//! peer and URL on the client spans; an inner service's `Err` fails both ends.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use spanscope::tower::{ClientLayer, ClientService, ServerLayer};
use spanscope_tests::http::serve_http1;
use spanscope_tests::{exported, setup, ExportedSpan, SpanSet, CLIENT, SERVER};
use tower::{Layer, ServiceExt};

type HttpClient = ClientService<Client<HttpConnector, Full<Bytes>>>;

fn client() -> HttpClient {
    ClientLayer::new().layer(Client::builder(TokioExecutor::new()).build_http())
}

/// GET `url` through `client`: the status and body, or the error's text.
async fn get(client: HttpClient, url: String) -> Result<(u16, String), String> {
    let request = Request::get(url).body(Full::default()).unwrap();
    let response = client.oneshot(request).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

fn current_span_id() -> String {
    spanscope::current().context().map_or_else(|| "none".to_owned(), |c| c.span_id.to_string())
}

/// Answers `/stock/..` with a count, `/echo` with the `traceparent` it got, `/whoami` with the span
/// current in the service's `call` and in its future; fails `/broken`. Its
/// layer knows the route of `/stock/..` requests.
async fn back_end() -> SocketAddr {
    let layer = ServerLayer::new().route(|parts| parts.uri.path().starts_with("/stock/").then_some("/stock/{item}"));
    serve_http1(
        layer,
        tower::service_fn(|request: Request<Incoming>| {
            let in_call = current_span_id();
            async move {
                let body = match request.uri().path() {
                    "/broken" => return Err(std::io::Error::other("the back end broke")),
                    "/echo" => format!("{:?}", request.headers().get("traceparent")),
                    "/whoami" => format!("{in_call} {}", current_span_id()),
                    _ => "stock: 3".to_owned(),
                };
                Ok(Response::new(Full::new(Bytes::from(body))))
            }
        }),
    )
    .await
}

/// Forwards every request's path to `back`.
async fn front_end(back: SocketAddr) -> SocketAddr {
    let layer = ServerLayer::new().span_name(|parts| format!("front {}", parts.uri.path()));
    serve_http1(
        layer,
        tower::service_fn(move |request: Request<Incoming>| async move {
            let answer = get(client(), format!("http://{back}{}", request.uri().path())).await;
            let body = match answer {
                Ok((_, body)) => body,
                Err(error) => format!("back end failed: {error}"),
            };
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body))))
        }),
    )
    .await
}

/// The only span of `kind` in `trace` addressed to `addr` (`server.port`).
fn at<'a>(spans: &'a [ExportedSpan], kind: u64, addr: SocketAddr, trace: &str) -> &'a ExportedSpan {
    let port = i64::from(addr.port());
    let found: Vec<_> =
        spans.iter().filter(|s| s.kind == kind && s.trace_id == trace && s.attributes["server.port"] == port).collect();
    assert_eq!(found.len(), 1, "one span of kind {kind} to {addr} in the trace: {spans:#?}");
    found[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hops_make_one_trace_with_client_spans_parenting_server_spans() {
    let dir = setup();
    let back = back_end().await;
    let front = front_end(back).await;
    assert_eq!(get(client(), format!("http://{front}/stock/7?fresh=1")).await.unwrap(), (200, "stock: 3".to_owned()));
    let spans = exported(dir);

    let url = format!("http://{front}/stock/7?fresh=1");
    let first = spans.iter().find(|s| s.kind == CLIENT && s.attributes["url.full"] == url.as_str()).unwrap();
    assert_eq!(first.name, "GET");
    assert_eq!(first.parent_span_id, None);
    assert_eq!(first.attributes["server.address"], "127.0.0.1");
    assert_eq!(first.attributes["http.response.status_code"], 200);
    let trace = &first.trace_id;
    assert_eq!(spans.in_trace(trace).len(), 4, "test → front → back: {:#?}", spans.in_trace(trace));

    let front_entry = at(&spans, SERVER, front, trace);
    front_entry.assert_child_of(first);
    assert_eq!(front_entry.name, "front /stock/7", "the layer's span_name");
    let hop = at(&spans, CLIENT, back, trace);
    hop.assert_child_of(front_entry);
    assert_eq!(hop.attributes["url.full"], format!("http://{back}/stock/7").as_str());
    let back_entry = at(&spans, SERVER, back, trace);
    back_entry.assert_child_of(hop);
    assert_eq!(back_entry.name, "GET /stock/{item}", "the layer's route");
    assert_eq!(back_entry.attributes["http.route"], "/stock/{item}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_span_is_current_in_the_inner_call_and_its_future() {
    let dir = setup();
    let back = back_end().await;
    let (_, body) = get(client(), format!("http://{back}/whoami")).await.unwrap();
    let spans = exported(dir);
    let server = spans.iter().find(|s| s.kind == SERVER && s.attributes["url.path"] == "/whoami").unwrap();
    assert_eq!(body, format!("{0} {0}", server.span_id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsampled_trace_still_propagates_through_the_client_layer() {
    let dir = setup();
    let back = back_end().await;
    let front = front_end(back).await;
    let unsampled = "00-5a7e5a7e5a7e5a7e5a7e5a7e5a7e5a7e-1111111111111111-00";
    let plain = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = Request::get(format!("http://{front}/echo")).header("traceparent", unsampled);
    let response = plain.request(request.body(Full::default()).unwrap()).await.unwrap();
    let seen = response.into_body().collect().await.unwrap().to_bytes();
    let seen = String::from_utf8_lossy(&seen);
    assert!(seen.starts_with("Some(\"00-5a7e5a7e5a7e5a7e5a7e5a7e5a7e5a7e-"), "the back end got {seen}");
    assert!(seen.ends_with("-00\")") && !seen.contains("1111111111111111"), "front's span, not sampled: {seen}");
    assert!(exported(dir).in_trace("5a7e5a7e5a7e5a7e5a7e5a7e5a7e5a7e").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inner_service_error_fails_the_server_span_and_the_client_span() {
    let dir = setup();
    let back = back_end().await;
    let failure = get(client(), format!("http://{back}/broken")).await.unwrap_err();
    let spans = exported(dir);

    let server = spans.iter().find(|s| s.kind == SERVER && s.attributes["url.path"] == "/broken").unwrap();
    assert_eq!(server.status_code, 2);
    assert_eq!(server.status_message.as_deref(), Some("the back end broke"));
    let client = spans.by_id(server.parent_span_id.as_deref().unwrap());
    assert_eq!((client.kind, client.status_code), (CLIENT, 2));
    assert_eq!(client.status_message.as_deref(), Some(failure.as_str()));
}

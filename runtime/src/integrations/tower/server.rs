//! The server side: an entry span per incoming request, continuing the context in its headers,
//! current while the inner service is called and while its future and response body are polled.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use http::request::Parts;
use http::{Request, Response};
use http_body::Body;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::integrations::http_semconv::{self as semconv, Exchange, GrpcPath};
use crate::integrations::interned;
use crate::integrations::request_metrics::{RequestKind, RequestMetric};
use crate::integrations::tower::ResponseBody;
use crate::span::current::RestoreOnDrop;
use crate::span::{Instrumented, Parent, Span, SpanKind};
use crate::tag::{TagMeta, TagValue};

static HTTP_ROUTE: TagMeta = TagMeta::new("http_route", "http.route");
static URL_PATH: TagMeta = TagMeta::new("url_path", "url.path");
static URL_SCHEME: TagMeta = TagMeta::new("url_scheme", "url.scheme");
static SERVER_ADDRESS: TagMeta = TagMeta::new("server_address", "server.address");
static SERVER_PORT: TagMeta = TagMeta::new("server_port", "server.port");
static NETWORK_PROTOCOL_VERSION: TagMeta = TagMeta::new("network_protocol_version", "network.protocol.version");
static USER_AGENT_ORIGINAL: TagMeta = TagMeta::new("user_agent_original", "user_agent.original");

type RouteFn = dyn Fn(&Parts) -> Option<Cow<'static, str>> + Send + Sync;
type SpanNameFn = dyn Fn(&Parts) -> Cow<'static, str> + Send + Sync;

/// A [`Layer`] that records every request its service serves as an entry span (see the
/// [module docs](super)).
///
/// The span is named `"{METHOD} {route}"` when the route is known (axum's `MatchedPath`, with the
/// `axum` feature, or [`route`](Self::route)), else `"{METHOD}"`, and `"package.Service/Method"`
/// for gRPC; [`span_name`](Self::span_name) overrides that.
#[derive(Clone, Default)]
pub struct ServerLayer {
    route: Option<Arc<RouteFn>>,
    span_name: Option<Arc<SpanNameFn>>,
}

impl ServerLayer {
    /// The layer with the conventional names.
    pub fn new() -> Self {
        Self::default()
    }

    /// Finds the route template of a request (`/orders/{id}`, not `/orders/7`), for the span name
    /// and `http.route`; takes precedence over axum's `MatchedPath`. `None`: the route is unknown.
    pub fn route<F, R>(mut self, route: F) -> Self
    where
        F: Fn(&Parts) -> Option<R> + Send + Sync + 'static,
        R: Into<Cow<'static, str>>,
    {
        self.route = Some(Arc::new(move |parts| route(parts).map(Into::into)));
        self
    }

    /// Names each request's span, instead of the conventional name. Keep names low-cardinality:
    /// they group spans into endpoints (`GET /orders/{id}`, not `GET /orders/7`).
    pub fn span_name<F, N>(mut self, name: F) -> Self
    where
        F: Fn(&Parts) -> N + Send + Sync + 'static,
        N: Into<Cow<'static, str>>,
    {
        self.span_name = Some(Arc::new(move |parts| name(parts).into()));
        self
    }
}

impl fmt::Debug for ServerLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerLayer")
            .field("route", &self.route.as_ref().map(|_| "fn"))
            .field("span_name", &self.span_name.as_ref().map(|_| "fn"))
            .finish()
    }
}

impl<S> Layer<S> for ServerLayer {
    type Service = ServerService<S>;

    fn layer(&self, inner: S) -> ServerService<S> {
        ServerService { inner, layer: self.clone() }
    }
}

/// The service [`ServerLayer`] wraps around `S`.
#[derive(Clone, Debug)]
pub struct ServerService<S> {
    inner: S,
    layer: ServerLayer,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ServerService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: fmt::Display,
    ResBody: Body,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ServerFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        if !semconv::enabled() {
            return ServerFuture {
                inner: Instrumented::new(Span::idle(), self.inner.call(request)),
                grpc: false,
                metric: None,
            };
        }
        let (parts, body) = request.into_parts();
        let (span, grpc, metric) = self.layer.start(&parts);
        let request = Request::from_parts(parts, body);
        // Services do work in `call` too: it runs in the span.
        let entered = span.enter().map(RestoreOnDrop);
        let future = self.inner.call(request);
        drop(entered);
        ServerFuture { inner: Instrumented::new(span, future), grpc, metric }
    }
}

impl ServerLayer {
    /// Starts the entry span and the timing of a request; also says whether it is a gRPC call.
    fn start(&self, parts: &Parts) -> (Span, bool, Option<RequestMetric>) {
        let grpc = semconv::is_grpc(&parts.headers).then(|| GrpcPath::new(parts.uri.path()));
        let route = match (&self.route, &grpc) {
            (_, Some(_)) => None,
            (Some(route), None) => route(parts).or_else(|| matched_path(parts).map(Cow::Borrowed)),
            (None, None) => matched_path(parts).map(Cow::Borrowed),
        };
        // Names and routes repeat from request to request: kept once (see `interned`).
        let name = match (&self.span_name, &grpc, &route) {
            (Some(name), _, _) => name(parts),
            (None, Some(grpc), _) => grpc.span_name(),
            (None, None, Some(route)) => interned::joined(&[semconv::span_method(&parts.method), " ", route]),
            (None, None, None) => Cow::Borrowed(semconv::span_method(&parts.method)),
        };
        // A name kept from `"{METHOD} {route}"` ends with the route: the tag borrows that end
        // instead of looking the route up again.
        let kept_route = match (&self.span_name, &name, &route) {
            (None, Cow::Borrowed(kept), Some(route)) => Some(&kept[kept.len() - route.len()..]),
            _ => None,
        };
        // A malformed context was counted by the extraction; the span then starts a new trace.
        let parent = crate::propagation::extract_parent(&parts.headers).map_or(Parent::Current, Parent::Context);
        let mut span = Span::start_named(name, SpanKind::Entry, parent);
        let metrics = crate::metrics::registry::enabled();
        let route = match span.is_recording() || metrics {
            true => route.map(|route| kept_route.map_or_else(|| interned::name(&route), Cow::Borrowed)),
            false => None,
        };
        let metric = match (metrics, &grpc) {
            (false, _) => None,
            (true, Some(grpc)) => RequestMetric::start(RequestKind::RpcServer { method: grpc.rpc_method() }),
            (true, None) => RequestMetric::start(RequestKind::HttpServer {
                method: semconv::method_name(&parts.method),
                https: parts.uri.scheme_str() == Some("https"),
                route: route.clone(),
                version: protocol_version(parts.version),
            }),
        };
        if span.is_recording() {
            tag_request(&mut span, parts, route, grpc.as_ref());
        }
        (span, grpc.is_some(), metric)
    }
}

/// The route axum matched, when the layer runs inside the router (`Router::layer`, `route_layer`).
#[cfg(feature = "axum")]
fn matched_path(parts: &Parts) -> Option<&str> {
    parts.extensions.get::<::axum::extract::MatchedPath>().map(::axum::extract::MatchedPath::as_str)
}

#[cfg(not(feature = "axum"))]
fn matched_path(_: &Parts) -> Option<&str> {
    None
}

/// The request's semantic-convention tags on its recording span: HTTP's, or for a gRPC call
/// RPC's, and the server's address, protocol and client in both.
fn tag_request(span: &mut Span, parts: &Parts, route: Option<Cow<'static, str>>, grpc: Option<&GrpcPath>) {
    let owned = |value: &str| TagValue::Str(Cow::Owned(value.to_owned()));
    if let Some(grpc) = grpc {
        grpc.tag(span);
    } else {
        semconv::tag_method(span, &parts.method);
        span.set_tag(&URL_PATH, owned(parts.uri.path()));
        if let Some(scheme) = parts.uri.scheme_str() {
            span.set_tag(&URL_SCHEME, owned(scheme));
        }
    }
    if let Some(route) = route {
        span.set_tag(&HTTP_ROUTE, TagValue::Str(route));
    }
    if let Some((host, port)) = server_address(parts) {
        // A server answers to few names: kept once, as routes are.
        let host = host.trim_start_matches('[').trim_end_matches(']');
        span.set_tag(&SERVER_ADDRESS, TagValue::Str(interned::name(host)));
        if let Some(port) = port {
            span.set_tag(&SERVER_PORT, TagValue::I64(port.into()));
        }
    }
    if let Some(version) = protocol_version(parts.version) {
        span.set_tag(&NETWORK_PROTOCOL_VERSION, TagValue::Str(Cow::Borrowed(version)));
    }
    if let Some(agent) = parts.headers.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()) {
        span.set_tag(&USER_AGENT_ORIGINAL, owned(agent));
    }
}

/// `network.protocol.version` of an HTTP version.
fn protocol_version(version: http::Version) -> Option<&'static str> {
    Some(match version {
        http::Version::HTTP_09 => "0.9",
        http::Version::HTTP_10 => "1.0",
        http::Version::HTTP_11 => "1.1",
        http::Version::HTTP_2 => "2",
        http::Version::HTTP_3 => "3",
        _ => return None,
    })
}

/// The host and port the client addressed: the URI's authority (HTTP/2's `:authority`, or an
/// absolute-form request), else the `Host` header.
fn server_address(parts: &Parts) -> Option<(String, Option<u16>)> {
    let parsed;
    let authority = match parts.uri.authority() {
        Some(authority) => authority,
        None => {
            parsed = http::uri::Authority::try_from(parts.headers.get(http::header::HOST)?.as_bytes()).ok()?;
            &parsed
        }
    };
    Some((authority.host().to_owned(), authority.port_u16()))
}

pin_project! {
    /// The future of [`ServerService`]: the inner service's future run in the request's span,
    /// whose response is tagged and whose body ends the span.
    #[derive(Debug)]
    pub struct ServerFuture<F> {
        #[pin]
        inner: Instrumented<F>,
        grpc: bool,
        metric: Option<RequestMetric>,
    }
}

impl<F, B, E> Future for ServerFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Body,
    E: fmt::Display,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let (result, span) = ready!(this.inner.poll(cx));
        let mut exchange = Exchange::server(span, *this.grpc, this.metric.take());
        match result {
            Ok(response) => {
                let trailers = exchange.record_response(response.status(), response.headers());
                Poll::Ready(Ok(response.map(|body| ResponseBody::new(body, exchange, trailers))))
            }
            Err(error) => {
                exchange.fail(&error);
                Poll::Ready(Err(error))
            }
        }
    }
}

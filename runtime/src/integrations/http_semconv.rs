//! What the HTTP and gRPC integrations ([`tower`](crate::integrations::tower), [`reqwest`](crate::integrations::reqwest))
//! share: OpenTelemetry's HTTP and RPC semantic conventions for span names, tag keys and values,
//! which outcomes are errors, and the whole client side of a request (its exit span, peer, tags
//! and injected context), so every client integration records the same thing.
//!
//! Nothing here formats or allocates for a span that does not record, and nothing panics on what
//! a peer sent: malformed header values are ignored.

use std::borrow::Cow;
use std::fmt::Write as _;

use http::{HeaderMap, HeaderValue, Method, StatusCode, Version};

use crate::integrations::interned;
use crate::integrations::request_metrics::{RequestKind, RequestMetric};
use crate::propagation::Http2Headers;
use crate::span::{ErrorInfo, Parent, Span, SpanKind};
use crate::tag::{TagMeta, TagValue};

pub(crate) static HTTP_REQUEST_METHOD: TagMeta = TagMeta::new("http_request_method", "http.request.method");
pub(crate) static HTTP_REQUEST_METHOD_ORIGINAL: TagMeta =
    TagMeta::new("http_request_method_original", "http.request.method_original");
pub(crate) static HTTP_RESPONSE_STATUS_CODE: TagMeta =
    TagMeta::new("http_response_status_code", "http.response.status_code");
pub(crate) static URL_FULL: TagMeta = TagMeta::new("url_full", "url.full");
pub(crate) static ERROR_TYPE: TagMeta = TagMeta::new("error_type", "error.type");
pub(crate) static RPC_SYSTEM: TagMeta = TagMeta::new("rpc_system", "rpc.system");
pub(crate) static RPC_SERVICE: TagMeta = TagMeta::new("rpc_service", "rpc.service");
pub(crate) static RPC_METHOD: TagMeta = TagMeta::new("rpc_method", "rpc.method");
pub(crate) static RPC_GRPC_STATUS_CODE: TagMeta = TagMeta::new("rpc_grpc_status_code", "rpc.grpc.status_code");

/// Whether spanscope is initialised. Without it the integrations pass requests through as they
/// came: no span, no header written.
#[inline]
pub(crate) fn enabled() -> bool {
    crate::state::current().is_some()
}

/// Which end of a request a span records: the conventions count different outcomes as errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    // Only the `tower` feature has a server side.
    #[cfg_attr(not(feature = "tower"), allow(dead_code))]
    Server,
    Client,
}

/// The method as the conventions name it: a well-known method, else `_OTHER` (the original is
/// then tagged separately, see [`tag_method`]).
pub(crate) fn method_name(method: &Method) -> &'static str {
    const KNOWN: [&str; 9] = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE"];
    KNOWN.into_iter().find(|known| *known == method.as_str()).unwrap_or("_OTHER")
}

/// The method part of a span name: `HTTP` for a method the conventions do not know.
pub(crate) fn span_method(method: &Method) -> &'static str {
    match method_name(method) {
        "_OTHER" => "HTTP",
        known => known,
    }
}

/// Whether the request or response is gRPC (`content-type: application/grpc`, `+proto`, ...).
pub(crate) fn is_grpc(headers: &HeaderMap) -> bool {
    headers.get(http::header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"))
}

/// `/package.Service/Method` split into `("package.Service", "Method")`.
pub(crate) fn grpc_method(path: &str) -> Option<(&str, &str)> {
    let (service, method) = path.strip_prefix('/')?.split_once('/')?;
    (!service.is_empty() && !method.is_empty() && !method.contains('/')).then_some((service, method))
}

/// A gRPC call's path, kept for the process (see [`interned`]): the call's span name and
/// `rpc.*` tags borrow from it instead of each copying a part. The methods a server and its
/// clients call are few.
#[derive(Debug)]
pub(crate) struct GrpcPath(Cow<'static, str>);

impl GrpcPath {
    pub(crate) fn new(path: &str) -> Self {
        Self(interned::name(path))
    }

    /// The span name: `package.Service/Method`, else the path as it came.
    pub(crate) fn span_name(&self) -> Cow<'static, str> {
        self.part(self.0.strip_prefix('/').unwrap_or(&self.0))
    }

    /// The fully qualified `rpc.method` of the RPC conventions' metrics (`package.Service/Method`),
    /// `_OTHER` for a path that is not a gRPC method.
    pub(crate) fn rpc_method(&self) -> Cow<'static, str> {
        match grpc_method(&self.0) {
            Some(_) => self.span_name(),
            None => Cow::Borrowed("_OTHER"),
        }
    }

    /// Tags `rpc.system`, `rpc.service` and `rpc.method`.
    pub(crate) fn tag(&self, span: &mut Span) {
        span.set_tag(&RPC_SYSTEM, TagValue::Str(Cow::Borrowed("grpc")));
        if let Some((service, method)) = grpc_method(&self.0) {
            span.set_tag(&RPC_SERVICE, TagValue::Str(self.part(service)));
            span.set_tag(&RPC_METHOD, TagValue::Str(self.part(method)));
        }
    }

    /// `part`, a slice of the path, as borrowed from the kept path (or copied if it is not kept).
    fn part(&self, part: &str) -> Cow<'static, str> {
        match self.0 {
            Cow::Borrowed(path) => {
                let start = part.as_ptr() as usize - path.as_ptr() as usize;
                Cow::Borrowed(&path[start..start + part.len()])
            }
            Cow::Owned(_) => Cow::Owned(part.to_owned()),
        }
    }
}

/// The `grpc-status` in `headers` (response headers of a trailers-only response, or trailers).
pub(crate) fn grpc_status(headers: &HeaderMap) -> Option<i32> {
    let value = headers.get("grpc-status")?.to_str().ok()?;
    value.parse::<u16>().ok().map(i32::from)
}

/// The canonical names of gRPC status codes, by code.
const GRPC_CODE_NAMES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// Whether `side` counts the gRPC status `code` as an error: every non-OK status on the client;
/// on the server only those that say the server failed (UNKNOWN, DEADLINE_EXCEEDED,
/// UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS), as the RPC conventions say.
fn grpc_is_error(side: Side, code: i32) -> bool {
    match side {
        Side::Client => code != 0,
        Side::Server => matches!(code, 2 | 4 | 12 | 13 | 14 | 15),
    }
}

/// `grpc-message` is percent-encoded UTF-8; what does not decode is kept as it came.
fn percent_decode(value: &HeaderValue) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Tags the request method of a recording span (`_OTHER` plus the original for unknown ones).
pub(crate) fn tag_method(span: &mut Span, method: &Method) {
    let name = method_name(method);
    span.set_tag(&HTTP_REQUEST_METHOD, TagValue::Str(Cow::Borrowed(name)));
    if name == "_OTHER" {
        span.set_tag(&HTTP_REQUEST_METHOD_ORIGINAL, TagValue::Str(Cow::Owned(method.as_str().to_owned())));
    }
}

/// The port a scheme implies when the URL names none.
fn default_port(scheme: Option<&str>) -> Option<u16> {
    match scheme? {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

/// An outgoing request as a client integration sees it: the parts of its URL (user information
/// is never read, so credentials never reach a span) and its method.
#[derive(Debug)]
pub(crate) struct Outgoing<'a> {
    pub method: &'a Method,
    pub scheme: Option<&'a str>,
    /// As URLs write it: an IPv6 address in brackets.
    pub host: Option<&'a str>,
    /// The port written in the URL, if any.
    pub port: Option<u16>,
    pub path: &'a str,
    pub query: Option<&'a str>,
}

/// A request's span and duration, carried by a layer or middleware from the request's start to
/// where its response (or failure) ends: the server side's entry span, or the client side's exit
/// span started by [`start_client`].
#[derive(Debug)]
pub(crate) struct Exchange {
    pub span: Span,
    side: Side,
    /// Whether the request is a gRPC call (its status comes in the response).
    pub grpc: bool,
    metric: Option<RequestMetric>,
}

/// Starts the exit span of `request` (whose headers are `headers`) under the current span; the
/// caller then [injects](Exchange::inject) it. `fallback_peer` is the remote address to record
/// when the URL has no host (tonic's generated clients send only the path).
pub(crate) fn start_client(request: &Outgoing<'_>, headers: &HeaderMap, fallback_peer: Option<&str>) -> Exchange {
    if !enabled() {
        return Exchange::idle();
    }
    let grpc = is_grpc(headers).then(|| GrpcPath::new(request.path));
    let port = request.port.or_else(|| default_port(request.scheme));
    let address = || request.host.map(|host| interned::name(host.trim_start_matches('[').trim_end_matches(']')));
    let metric = RequestMetric::start(match &grpc {
        Some(grpc) => RequestKind::RpcClient { method: grpc.rpc_method(), address: address(), port },
        None => {
            RequestKind::HttpClient { method: method_name(request.method), address: address(), port, version: None }
        }
    });
    let name = grpc.as_ref().map_or(Cow::Borrowed(span_method(request.method)), GrpcPath::span_name);
    let mut span = Span::start_named(name, SpanKind::Exit, Parent::Current);
    if span.is_recording() {
        match (request.host, port) {
            (Some(host), Some(port)) => {
                let mut peer = String::with_capacity(host.len() + 6);
                let _ = write!(peer, "{host}:{port}");
                span.set_peer(peer);
            }
            (Some(host), None) => span.set_peer(host.to_owned()),
            (None, _) => {
                if let Some(peer) = fallback_peer {
                    span.set_peer(peer.to_owned());
                }
            }
        }
        // A gRPC call is described by the RPC conventions alone (`rpc.*`), an HTTP request by
        // the HTTP ones.
        if let Some(grpc) = &grpc {
            grpc.tag(&mut span);
        } else {
            tag_method(&mut span, request.method);
            if let (Some(scheme), Some(host)) = (request.scheme, request.host) {
                span.set_tag(&URL_FULL, TagValue::Str(Cow::Owned(full_url(scheme, host, request))));
            }
        }
    }
    Exchange { span, side: Side::Client, grpc: grpc.is_some(), metric }
}

/// `scheme://host[:port]/path[?query]`, without user information; in one allocation.
fn full_url(scheme: &str, host: &str, request: &Outgoing<'_>) -> String {
    let query = request.query.map_or(0, |query| query.len() + 1);
    let mut url = String::with_capacity(scheme.len() + 3 + host.len() + 6 + request.path.len().max(1) + query);
    let _ = write!(url, "{scheme}://{host}");
    if let Some(port) = request.port {
        let _ = write!(url, ":{port}");
    }
    url.push_str(if request.path.is_empty() { "/" } else { request.path });
    if let Some(query) = request.query {
        let _ = write!(url, "?{query}");
    }
    url
}

impl Exchange {
    /// No span and no timing: spanscope is off, or the request already completed.
    pub(crate) fn idle() -> Self {
        Self { span: Span::idle(), side: Side::Client, grpc: false, metric: None }
    }

    /// The server side of a request: its entry span and timing.
    #[cfg(feature = "tower")]
    pub(crate) fn server(span: Span, grpc: bool, metric: Option<RequestMetric>) -> Self {
        Self { span, side: Side::Server, grpc, metric }
    }

    /// Writes the span's context into the outgoing request's `headers`; also for an unsampled
    /// trace, which must propagate too. An HTTP/2 request's per-request ids are never-indexed
    /// (see [`Http2Headers`]).
    pub(crate) fn inject(&self, headers: &mut HeaderMap, version: Version) {
        if version == Version::HTTP_2 {
            self.span.inject(&mut Http2Headers(headers));
        } else {
            self.span.inject(headers);
        }
    }

    /// Records the response's head: its status, and for gRPC the status of a trailers-only
    /// response. Returns whether a gRPC status is still to come (in the trailers).
    pub(crate) fn record_response(&mut self, status: StatusCode, headers: &HeaderMap) -> bool {
        self.record_http_status(status);
        self.grpc && !self.record_grpc_status(headers)
    }

    /// Records a response status: on the duration, and on a recording span the tag and an error
    /// when the side counts it as one (5xx on the server, 4xx and 5xx on the client). A gRPC
    /// call's `200` says nothing (its outcome is the gRPC status) and is not recorded; any other
    /// status is (a proxy's error).
    fn record_http_status(&mut self, status: StatusCode) {
        let error = match self.side {
            Side::Server => status.is_server_error(),
            Side::Client => status.is_client_error() || status.is_server_error(),
        };
        if let Some(metric) = &mut self.metric {
            metric.http_status(status.as_u16(), error);
        }
        if !self.span.is_recording() || (self.grpc && status == StatusCode::OK) {
            return;
        }
        self.span.set_tag(&HTTP_RESPONSE_STATUS_CODE, TagValue::I64(status.as_u16().into()));
        if error {
            self.span.set_tag(&ERROR_TYPE, TagValue::Str(Cow::Owned(status.as_str().to_owned())));
            self.span.set_error(None);
        }
    }

    /// Records the gRPC status found in `headers` (if any): on the duration, and on the span its
    /// code and an error with the status name and `grpc-message` when the side counts it as one.
    /// Returns whether a status was found.
    pub(crate) fn record_grpc_status(&mut self, headers: &HeaderMap) -> bool {
        let Some(code) = grpc_status(headers) else {
            return false;
        };
        let name = usize::try_from(code).ok().and_then(|c| GRPC_CODE_NAMES.get(c)).copied().unwrap_or("UNKNOWN");
        let error = grpc_is_error(self.side, code);
        if let Some(metric) = &mut self.metric {
            metric.grpc_status(name, error);
        }
        if !self.span.is_recording() {
            return true;
        }
        self.span.set_tag(&RPC_GRPC_STATUS_CODE, TagValue::I64(code.into()));
        if error {
            let message = headers.get("grpc-message").map(percent_decode).unwrap_or_default();
            self.span.set_tag(&ERROR_TYPE, TagValue::Str(Cow::Borrowed(name)));
            self.span.set_error(Some(ErrorInfo::new(
                "grpc.status",
                if message.is_empty() { name.to_owned() } else { message },
            )));
        }
        true
    }

    /// Ends the request: its duration, then its span.
    pub(crate) fn finish(mut self) {
        if let Some(metric) = self.metric.take() {
            metric.finish(&self.span, None);
        }
        std::mem::replace(&mut self.span, Span::idle()).finish(|| None);
    }

    /// Ends the request with its failure (before a response, or in the response body): the
    /// error's type is the duration's `error.type` unless a status said what failed.
    pub(crate) fn fail<E: std::fmt::Display + ?Sized>(mut self, error: &E) {
        if let Some(metric) = self.metric.take() {
            metric.finish(&self.span, Some(std::any::type_name::<E>()));
        }
        std::mem::replace(&mut self.span, Span::idle()).finish(|| Some(ErrorInfo::of(error)));
    }
}

impl Drop for Exchange {
    /// A request dropped before its end (a response body the peer stopped reading, a future
    /// cancelled) is timed to here; its span ends as a dropped span does.
    fn drop(&mut self) {
        if let Some(metric) = self.metric.take() {
            metric.finish(&self.span, std::thread::panicking().then_some("panic"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_paths_split_into_service_and_method() {
        assert_eq!(grpc_method("/shop.Orders/Place"), Some(("shop.Orders", "Place")));
        assert_eq!(grpc_method("/shop.Orders/"), None);
        assert_eq!(grpc_method("/a/b/c"), None);
        assert_eq!(grpc_method("shop.Orders/Place"), None);
    }

    #[test]
    fn unknown_methods_are_other() {
        assert_eq!(method_name(&Method::PATCH), "PATCH");
        let custom = Method::from_bytes(b"PURGE").unwrap();
        assert_eq!(method_name(&custom), "_OTHER");
        assert_eq!(span_method(&custom), "HTTP");
    }

    #[test]
    fn grpc_messages_are_percent_decoded_and_never_fail() {
        assert_eq!(percent_decode(&HeaderValue::from_static("no%20stock%")), "no stock%");
        assert_eq!(percent_decode(&HeaderValue::from_static("%zz%e2%9c%93")), "%zz✓");
    }

    #[test]
    fn full_urls_leave_out_user_information() {
        let request = Outgoing {
            method: &Method::GET,
            scheme: Some("http"),
            host: Some("[::1]"),
            port: Some(8080),
            path: "/items",
            query: Some("a=1"),
        };
        assert_eq!(full_url("http", "[::1]", &request), "http://[::1]:8080/items?a=1");
    }
}

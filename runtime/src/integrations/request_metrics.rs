//! The request-duration histograms every HTTP and gRPC integration records, as OpenTelemetry's
//! semantic conventions name them: `http.server.request.duration`,
//! `http.client.request.duration` (stable HTTP conventions), `rpc.server.call.duration` and
//! `rpc.client.call.duration` (RPC conventions 1.44: `rpc.system.name`, a fully qualified
//! `rpc.method`, the status name in `rpc.response.status_code`), in seconds, with the buckets
//! the conventions advise.
//!
//! Every request is timed, sampled or not; the attributes are what the layer already holds (the
//! method's static name, the interned route, host and gRPC path, the status), so recording is
//! a hash of a few short strings and one cell update. The exemplar is the request's own span,
//! when it is sampled.

use std::borrow::Cow;

use crate::clock;
use crate::metrics::{AttrRef, AttrValue, AttributeSet, Histogram, InstrumentKind, InstrumentMeta, ValueKind};
use crate::span::Span;
use crate::tag::TagMeta;

/// The buckets the HTTP and RPC conventions advise for durations, in seconds.
const DURATION_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];

macro_rules! duration_histogram {
    ($static:ident, $meta:ident, $name:literal, $description:literal) => {
        static $meta: InstrumentMeta = InstrumentMeta {
            name: $name,
            unit: "s",
            description: $description,
            kind: InstrumentKind::Histogram,
            value: ValueKind::F64,
            scope: ("spanscope", env!("CARGO_PKG_VERSION")),
            buckets: DURATION_BUCKETS,
        };
        static $static: Histogram<f64> = Histogram::new(&$meta);
    };
}

duration_histogram!(HTTP_SERVER, HTTP_SERVER_META, "http.server.request.duration", "Duration of HTTP server requests.");
duration_histogram!(HTTP_CLIENT, HTTP_CLIENT_META, "http.client.request.duration", "Duration of HTTP client requests.");
duration_histogram!(
    RPC_SERVER,
    RPC_SERVER_META,
    "rpc.server.call.duration",
    "Measures the duration of inbound remote procedure calls."
);
duration_histogram!(
    RPC_CLIENT,
    RPC_CLIENT_META,
    "rpc.client.call.duration",
    "Measures the duration of outbound remote procedure calls."
);

static METHOD: TagMeta = TagMeta::new("http_request_method", "http.request.method");
static SCHEME: TagMeta = TagMeta::new("url_scheme", "url.scheme");
static ROUTE: TagMeta = TagMeta::new("http_route", "http.route");
static STATUS: TagMeta = TagMeta::new("http_response_status_code", "http.response.status_code");
static ERROR_TYPE: TagMeta = TagMeta::new("error_type", "error.type");
static PROTOCOL_VERSION: TagMeta = TagMeta::new("network_protocol_version", "network.protocol.version");
static SERVER_ADDRESS: TagMeta = TagMeta::new("server_address", "server.address");
static SERVER_PORT: TagMeta = TagMeta::new("server_port", "server.port");
static RPC_SYSTEM: TagMeta = TagMeta::new("rpc_system_name", "rpc.system.name");
static RPC_METHOD: TagMeta = TagMeta::new("rpc_method", "rpc.method");
static RPC_STATUS: TagMeta = TagMeta::new("rpc_response_status_code", "rpc.response.status_code");

/// The attributes of one request's duration; each instrument leaves the keys it does not use
/// absent.
#[derive(Debug, Default)]
struct RequestAttributes {
    method: Option<&'static str>,
    scheme: Option<&'static str>,
    route: Option<Cow<'static, str>>,
    status: Option<u16>,
    error_type: Option<Cow<'static, str>>,
    protocol_version: Option<&'static str>,
    server_address: Option<Cow<'static, str>>,
    server_port: Option<u16>,
    rpc_system: Option<&'static str>,
    rpc_method: Option<Cow<'static, str>>,
    rpc_status: Option<&'static str>,
}

impl AttributeSet for RequestAttributes {
    const KEYS: &'static [fn() -> &'static TagMeta] = &[
        || &METHOD,
        || &SCHEME,
        || &ROUTE,
        || &STATUS,
        || &ERROR_TYPE,
        || &PROTOCOL_VERSION,
        || &SERVER_ADDRESS,
        || &SERVER_PORT,
        || &RPC_SYSTEM,
        || &RPC_METHOD,
        || &RPC_STATUS,
    ];

    #[inline]
    fn visit(&self, mut f: impl FnMut(AttrRef<'_>)) {
        f(self.method.attr_ref());
        f(self.scheme.attr_ref());
        f(self.route.as_deref().attr_ref());
        f(self.status.attr_ref());
        f(self.error_type.as_deref().attr_ref());
        f(self.protocol_version.attr_ref());
        f(self.server_address.as_deref().attr_ref());
        f(self.server_port.attr_ref());
        f(self.rpc_system.attr_ref());
        f(self.rpc_method.as_deref().attr_ref());
        f(self.rpc_status.attr_ref());
    }
}

/// One request being timed: started where its span starts, recorded where its span ends.
#[derive(Debug)]
pub(crate) struct RequestMetric {
    histogram: &'static Histogram<f64>,
    start: u64,
    attributes: RequestAttributes,
}

/// What a request is, for its duration's attributes.
#[derive(Debug)]
pub(crate) enum RequestKind {
    /// An HTTP request served: its method's conventional name, scheme, route if known and
    /// protocol version.
    HttpServer { method: &'static str, https: bool, route: Option<Cow<'static, str>>, version: Option<&'static str> },
    /// An HTTP request sent, to `address:port`.
    HttpClient {
        method: &'static str,
        address: Option<Cow<'static, str>>,
        port: Option<u16>,
        version: Option<&'static str>,
    },
    /// A gRPC call served; `method` is `package.Service/Method`, or `_OTHER` for a path that is
    /// not one.
    RpcServer { method: Cow<'static, str> },
    /// A gRPC call sent.
    RpcClient { method: Cow<'static, str>, address: Option<Cow<'static, str>>, port: Option<u16> },
}

impl RequestMetric {
    /// Starts timing `request`; `None` when metrics are off (one relaxed load).
    #[inline]
    pub(crate) fn start(request: RequestKind) -> Option<Self> {
        if !crate::metrics::registry::enabled() {
            return None;
        }
        let start = clock::now();
        let mut attributes = RequestAttributes::default();
        let histogram = match request {
            RequestKind::HttpServer { method, https, route, version } => {
                attributes.method = Some(method);
                attributes.scheme = Some(if https { "https" } else { "http" });
                attributes.route = route;
                attributes.protocol_version = version;
                &HTTP_SERVER
            }
            RequestKind::HttpClient { method, address, port, version } => {
                attributes.method = Some(method);
                attributes.server_address = address;
                attributes.server_port = port;
                attributes.protocol_version = version;
                &HTTP_CLIENT
            }
            RequestKind::RpcServer { method } => {
                attributes.rpc_system = Some("grpc");
                attributes.rpc_method = Some(method);
                &RPC_SERVER
            }
            RequestKind::RpcClient { method, address, port } => {
                attributes.rpc_system = Some("grpc");
                attributes.rpc_method = Some(method);
                attributes.server_address = address;
                attributes.server_port = port;
                &RPC_CLIENT
            }
        };
        Some(Self { histogram, start, attributes })
    }

    /// Records the HTTP status of the response; `error` says whether the side counts it as a
    /// failure (then `error.type` is the status code, as the conventions say). A gRPC call's
    /// status comes from [`grpc_status`](Self::grpc_status) instead.
    pub(crate) fn http_status(&mut self, status: u16, error: bool) {
        if self.attributes.rpc_system.is_some() {
            return;
        }
        self.attributes.status = Some(status);
        if error {
            self.attributes.error_type = Some(Cow::Owned(status.to_string()));
        }
    }

    /// Records a gRPC call's status `name`; a status the side counts as a failure is also its
    /// `error.type`.
    pub(crate) fn grpc_status(&mut self, name: &'static str, error: bool) {
        self.attributes.rpc_status = Some(name);
        if error {
            self.attributes.error_type = Some(Cow::Borrowed(name));
        }
    }

    /// Records the duration, with `error_type` (the Rust type of a failure before a response,
    /// or of a failing body) unless a status already said what failed. The exemplar is `span`.
    pub(crate) fn finish(mut self, span: &Span, error_type: Option<&'static str>) {
        if let (None, Some(error_type)) = (&self.attributes.error_type, error_type) {
            self.attributes.error_type = Some(Cow::Borrowed(error_type));
        }
        let seconds = clock::seconds_between(self.start, clock::now());
        self.histogram.record_for(seconds, &self.attributes, span.exemplar_identity());
    }
}

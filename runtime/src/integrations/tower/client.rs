//! The client side: an exit span per outgoing request, under the caller's current span, with the
//! span's context written into the request headers.
//!
//! On an HTTP/2 request (tonic's always are), the headers that carry the exit span's id
//! (`traceparent`, `tracestate`, `sw8`, `x-datadog-parent-id`, `b3`, `x-b3-spanid`) are marked
//! never-indexed, so HPACK does not fill the connection's table with values that never repeat.
//! A `Debug` of the request's headers after this layer prints them as `Sensitive`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use http::{Request, Response};
use http_body::Body;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::integrations::http_semconv::{start_client, Exchange, Outgoing};
use crate::integrations::tower::ResponseBody;

/// A [`Layer`] that records every request its service sends as an exit span (see the
/// [module docs](super)): named `"{METHOD}"`, or `"package.Service/Method"` for gRPC, with the
/// request's authority (`host:port`) as its peer.
#[derive(Clone, Debug, Default)]
pub struct ClientLayer {
    peer: Option<Arc<str>>,
}

impl ClientLayer {
    /// The layer; the peer of each span is its request's authority.
    pub fn new() -> Self {
        Self::default()
    }

    /// The peer (`host:port`) to record for requests whose URI has no authority, as tonic's
    /// generated clients send them (the channel adds it later).
    pub fn peer(mut self, authority: impl Into<String>) -> Self {
        self.peer = Some(authority.into().into());
        self
    }
}

impl<S> Layer<S> for ClientLayer {
    type Service = ClientService<S>;

    fn layer(&self, inner: S) -> ClientService<S> {
        ClientService { inner, peer: self.peer.clone() }
    }
}

/// The service [`ClientLayer`] wraps around `S`.
#[derive(Clone, Debug)]
pub struct ClientService<S> {
    inner: S,
    peer: Option<Arc<str>>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ClientService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: fmt::Display,
    ResBody: Body,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ClientFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let (mut parts, body) = request.into_parts();
        let uri = &parts.uri;
        let outgoing = Outgoing {
            method: &parts.method,
            scheme: uri.scheme_str(),
            host: uri.host(),
            port: uri.port_u16(),
            path: uri.path(),
            query: uri.query(),
        };
        let client = start_client(&outgoing, &parts.headers, self.peer.as_deref());
        client.inject(&mut parts.headers, parts.version);
        ClientFuture { inner: self.inner.call(Request::from_parts(parts, body)), client }
    }
}

pin_project! {
    /// The future of [`ClientService`]: the inner future, whose response is tagged on the exit
    /// span and whose body ends it.
    #[derive(Debug)]
    pub struct ClientFuture<F> {
        #[pin]
        inner: F,
        client: Exchange,
    }
}

impl<F, B, E> Future for ClientFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Body,
    E: fmt::Display,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let mut client = std::mem::replace(this.client, Exchange::idle());
        Poll::Ready(match result {
            Ok(response) => {
                let trailers = client.record_response(response.status(), response.headers());
                Ok(response.map(|body| ResponseBody::new(body, client, trailers)))
            }
            Err(error) => {
                client.fail(&error);
                Err(error)
            }
        })
    }
}

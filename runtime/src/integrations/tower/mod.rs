//! Tower layers for HTTP and gRPC: [`ServerLayer`] gives every incoming request an entry span
//! continuing the caller's trace, [`ClientLayer`] gives every outgoing request an exit span and
//! writes its context into the request headers. Both work with any `http` request and response
//! body, so with axum (`Router::layer`), hyper (through hyper-util's tower adapters), tonic
//! servers (`Server::builder().layer(..)`) and clients (`XxxClient::new(ClientLayer::new().layer(channel))`),
//! and hyper-util's client.
//!
//! Spans follow OpenTelemetry's HTTP and RPC semantic conventions: `GET /orders/{id}` when the
//! route is known, else `GET`; `package.Service/Method` for gRPC, with `rpc.*` tags (instead of
//! the HTTP ones, which say nothing about a gRPC call) and the `rpc.grpc.status_code` read from
//! the response headers or trailers. A span ends when the
//! response body ends or is dropped, so it covers streaming and sees gRPC trailers.
//!
//! # Span names, and the `axum` feature
//!
//! A server span is named `{METHOD} {http.route}` when the route template is known, else
//! `{METHOD}` alone, as OpenTelemetry's HTTP conventions say: the path itself (`/orders/7`)
//! would make a name per order, so it goes in `url.path`. The route comes from
//! [`ServerLayer::route`] (a function of the request, for hyper or any router), else, with the
//! `axum` feature, from the route axum matched (`MatchedPath`), which axum knows inside the
//! router: add the layer with `Router::layer` or `route_layer`, not around the whole router.
//! With the `tower` feature alone and no [`route`](ServerLayer::route), every HTTP server span
//! is `GET`, `POST`, ...: for an axum app, turn on `axum`. gRPC names come from the path, with
//! or without it. Client spans are named `{METHOD}` (OpenTelemetry names them after a URL
//! template, which a client is rarely given), with the URL in `url.full`.
//!
//! Without [`init`](crate::init), both layers pass requests and responses through unchanged.
//!
//! ```no_run
//! # #[cfg(feature = "axum")]
//! # mod example {
//! use axum::routing::get;
//! use spanscope::tower::ServerLayer;
//!
//! /// `GET /orders/{id}` spans with `http.route` = `/orders/{id}`; handlers' spans are their children.
//! fn app() -> axum::Router {
//!     axum::Router::new().route("/orders/{id}", get(|| async { "ok" })).layer(ServerLayer::new())
//! }
//! # }
//! # fn main() {}
//! ```
//!
//! A tonic client: `OrdersClient::new(ClientLayer::new().peer("orders:50051").layer(channel))`
//! (tonic's generated clients send only the path, so the peer is given to the layer).

mod client;
mod server;

use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::integrations::http_semconv::Exchange;
use crate::span::current::RestoreOnDrop;

pub use client::{ClientFuture, ClientLayer, ClientService};
pub use server::{ServerFuture, ServerLayer, ServerService};

pin_project! {
    /// The body of a response that passed through [`ServerLayer`] or [`ClientLayer`]: the same
    /// frames, with the request's span entered while the inner body is polled, and the request
    /// (its span and duration) ended when the body ends (or fails, or is dropped). A gRPC status
    /// in the trailers is recorded on it.
    #[derive(Debug)]
    pub struct ResponseBody<B> {
        #[pin]
        inner: B,
        exchange: Option<Exchange>,
        // Whether a gRPC status is expected in the trailers.
        trailers: bool,
    }
}

impl<B: Body> ResponseBody<B> {
    fn new(inner: B, exchange: Exchange, trailers: bool) -> Self {
        // A body with nothing to send (an error status, often) may never be polled: the request
        // ends now, before the response leaves, not whenever the connection drops the body.
        let exchange = if inner.is_end_stream() {
            exchange.finish();
            None
        } else {
            Some(exchange)
        };
        Self { inner, exchange, trailers }
    }
}

impl<B> Body for ResponseBody<B>
where
    B: Body,
    B::Error: std::fmt::Display,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let mut this = self.project();
        let entered = this.exchange.as_ref().and_then(|exchange| exchange.span.enter()).map(RestoreOnDrop);
        let polled = this.inner.as_mut().poll_frame(cx);
        // Leave before the span may end below: a segment is uninstalled before it is handed over.
        drop(entered);
        match &polled {
            Poll::Pending => {}
            Poll::Ready(Some(Ok(frame))) => {
                if let (true, Some(trailers), Some(exchange)) =
                    (*this.trailers, frame.trailers_ref(), &mut *this.exchange)
                {
                    if exchange.record_grpc_status(trailers) {
                        *this.trailers = false;
                    }
                }
                // The last frame: the request ends before it is sent, so its span is complete by
                // the time the peer has the whole response.
                if this.inner.is_end_stream() {
                    if let Some(exchange) = this.exchange.take() {
                        exchange.finish();
                    }
                }
            }
            Poll::Ready(Some(Err(error))) => {
                if let Some(exchange) = this.exchange.take() {
                    exchange.fail(error);
                }
            }
            Poll::Ready(None) => {
                if let Some(exchange) = this.exchange.take() {
                    exchange.finish();
                }
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

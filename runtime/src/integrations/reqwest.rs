//! The client side for reqwest: [`Middleware`], a `reqwest-middleware` middleware giving every
//! request an exit span under the caller's current span and writing its context into the request
//! headers. It records what [`tower::ClientLayer`](crate::integrations::tower) records (the same code does it):
//! name `"{METHOD}"`, the URL's `host:port` as peer, `http.request.method`, `url.full` (without
//! user information), `http.response.status_code`; an error on status 4xx/5xx or when the request
//! fails. The span ends when the response head arrives.
//!
//! ```no_run
//! # async fn example() -> Result<(), reqwest_middleware::Error> {
//! let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(spanscope::reqwest::Middleware::new())
//!     .build();
//! let stock = client.get("http://inventory:8080/stock/7").send().await?.text().await?;
//! # Ok(())
//! # }
//! ```
//!
//! Without [`init`](crate::init), requests pass through unchanged.

use ::reqwest::{Request, Response};
use http::Extensions;
use reqwest_middleware::Next;

use crate::integrations::http_semconv::{start_client, Outgoing};

/// The `reqwest-middleware` middleware recording each request as an exit span (see the
/// [module docs](self)).
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct Middleware;

impl Middleware {
    /// The middleware.
    pub fn new() -> Self {
        Self
    }
}

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for Middleware {
    async fn handle(
        &self,
        mut request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let url = request.url();
        let outgoing = Outgoing {
            method: request.method(),
            scheme: Some(url.scheme()),
            host: url.host_str(),
            port: url.port(),
            path: url.path(),
            query: url.query(),
        };
        let mut client = start_client(&outgoing, request.headers(), None);
        let version = request.version();
        client.inject(request.headers_mut(), version);
        match next.run(request, extensions).await {
            Ok(response) => {
                client.record_response(response.status(), response.headers());
                client.finish();
                Ok(response)
            }
            Err(error) => {
                client.fail(&error);
                Err(error)
            }
        }
    }
}

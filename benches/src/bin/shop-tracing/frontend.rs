//! `frontend`: takes checkouts and places them with `orders` over HTTP (reqwest).

use std::future::Future;
use std::net::SocketAddr;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::{telemetry, Error};

#[derive(Debug, Clone)]
struct Orders {
    url: String,
    client: reqwest::Client,
}

pub async fn serve(
    listener: TcpListener,
    orders: SocketAddr,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let app = Router::new()
        .route("/checkout/{tenant}/{item}/{quantity}", post(checkout))
        .layer(
            TraceLayer::new_for_http().make_span_with(telemetry::server_span).on_response(telemetry::record_response),
        )
        .with_state(Orders { url: format!("http://{orders}/orders"), client: reqwest::Client::new() });
    axum::serve(listener, app).with_graceful_shutdown(stop).await?;
    Ok(())
}

async fn checkout(
    State(orders): State<Orders>,
    Path((tenant, item, quantity)): Path<(String, String, u32)>,
) -> Result<String, (StatusCode, String)> {
    let url = format!("{}/{tenant}/{item}/{quantity}", orders.url);
    let (status, body) =
        place_order(&orders.client, url).await.map_err(|e| (StatusCode::BAD_GATEWAY, e.to_string()))?;
    if status.is_success() {
        Ok(body)
    } else {
        Err((status, body))
    }
}

/// The client span: what reqwest-tracing or a hand-written wrapper records.
#[tracing::instrument(
    name = "POST",
    skip_all,
    fields(otel.kind = "client", http.request.method = "POST", url.full = %url, http.response.status_code)
)]
async fn place_order(client: &reqwest::Client, url: String) -> Result<(StatusCode, String), reqwest::Error> {
    let mut headers = HeaderMap::new();
    telemetry::inject(&mut telemetry::HeaderInjector(&mut headers));
    let response = client.post(url).headers(headers).send().await?;
    let status = response.status();
    tracing::Span::current().record("http.response.status_code", status.as_u16());
    Ok((status, response.text().await?))
}

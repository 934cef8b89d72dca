//! The `frontend` service: an axum server behind `spanscope::tower::ServerLayer` taking
//! checkouts, which it passes to `orders` over HTTP with reqwest and
//! `spanscope::reqwest::Middleware`.

use std::future::Future;
use std::net::SocketAddr;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use reqwest_middleware::ClientWithMiddleware;
use spanscope::tower::ServerLayer;
use tokio::net::TcpListener;

use crate::Error;

/// Where orders are placed, and the client to place them with.
#[derive(Debug, Clone)]
struct Orders {
    url: String,
    client: ClientWithMiddleware,
}

pub async fn serve(
    listener: TcpListener,
    orders: SocketAddr,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(spanscope::reqwest::Middleware::new())
        .build();
    let app = Router::new()
        .route("/checkout/{tenant}/{item}/{quantity}", post(checkout))
        .layer(ServerLayer::new())
        .with_state(Orders { url: format!("http://{orders}/orders"), client });
    axum::serve(listener, app).with_graceful_shutdown(stop).await?;
    Ok(())
}

/// Places the order and answers with what orders answered.
async fn checkout(
    State(orders): State<Orders>,
    Path((tenant, item, quantity)): Path<(String, String, u32)>,
) -> Result<String, (StatusCode, String)> {
    tracing::info!(tenant = %tenant, item = %item, quantity, "checkout");
    let url = format!("{}/{tenant}/{item}/{quantity}", orders.url);
    let bad_gateway = |error: reqwest_middleware::Error| (StatusCode::BAD_GATEWAY, error.to_string());
    let reply = async {
        let response = orders.client.post(url).send().await.map_err(bad_gateway)?;
        let status = response.status();
        let body = response.text().await.map_err(|e| bad_gateway(e.into()))?;
        examples::shop::relay(status, body)
    };
    reply.await.inspect_err(|(status, error)| tracing::warn!(status = status.as_u16(), "checkout failed: {error}"))
}

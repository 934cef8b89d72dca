//! The `orders` service: an axum server behind `spanscope::tower::ServerLayer` that places an
//! order by reserving it with `inventory` over gRPC, through a tonic client wrapped in
//! `spanscope::tower::ClientLayer`.

use std::future::Future;
use std::net::SocketAddr;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use examples::shop;
use examples::shop::proto::inventory_client::InventoryClient;
use examples::shop::proto::ReserveRequest;
use spanscope::tower::{ClientLayer, ClientService, ServerLayer};
use tokio::net::TcpListener;
use tonic::transport::Channel;
use tower::Layer as _;

use crate::Error;

type Inventory = InventoryClient<ClientService<Channel>>;

pub async fn serve(
    listener: TcpListener,
    inventory: SocketAddr,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    // Connects on first use; every request shares the channel (one multiplexed HTTP/2 connection).
    let channel = Channel::from_shared(format!("http://{inventory}"))?.connect_lazy();
    let client = InventoryClient::new(ClientLayer::new().peer(inventory.to_string()).layer(channel));
    let app = Router::new()
        .route("/orders/{tenant}/{item}/{quantity}", post(place_order))
        .layer(ServerLayer::new())
        .with_state(client);
    axum::serve(listener, app).with_graceful_shutdown(stop).await?;
    Ok(())
}

/// Reserves the order with inventory, which prices it; answers with the order as JSON.
async fn place_order(
    State(mut inventory): State<Inventory>,
    Path((tenant, item, quantity)): Path<(String, String, u32)>,
) -> Result<String, (StatusCode, String)> {
    let reservation = inventory.reserve(ReserveRequest { tenant, item, quantity }).await;
    match &reservation {
        Ok(reservation) => tracing::info!(order = reservation.get_ref().id, "order placed"),
        Err(status) => tracing::warn!(code = ?status.code(), "inventory refused the order: {}", status.message()),
    }
    shop::order_reply(reservation.map(tonic::Response::into_inner))
}

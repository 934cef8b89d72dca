//! `orders`: places an order by reserving it with `inventory` over gRPC (tonic).

use std::future::Future;
use std::net::SocketAddr;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use examples::shop;
use examples::shop::proto::inventory_client::InventoryClient;
use examples::shop::proto::{Reservation, ReserveRequest};
use tokio::net::TcpListener;
use tonic::transport::Channel;
use tower_http::trace::TraceLayer;

use crate::{telemetry, Error};

pub async fn serve(
    listener: TcpListener,
    inventory: SocketAddr,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let client = InventoryClient::new(Channel::from_shared(format!("http://{inventory}"))?.connect_lazy());
    let app = Router::new()
        .route("/orders/{tenant}/{item}/{quantity}", post(place_order))
        .layer(
            TraceLayer::new_for_http().make_span_with(telemetry::server_span).on_response(telemetry::record_response),
        )
        .with_state(client);
    axum::serve(listener, app).with_graceful_shutdown(stop).await?;
    Ok(())
}

async fn place_order(
    State(mut inventory): State<InventoryClient<Channel>>,
    Path((tenant, item, quantity)): Path<(String, String, u32)>,
) -> Result<String, (StatusCode, String)> {
    shop::order_reply(reserve(&mut inventory, ReserveRequest { tenant, item, quantity }).await)
}

/// The client span of the gRPC call, its context injected into the request's metadata.
#[tracing::instrument(
    name = "shop.Inventory/Reserve",
    skip_all,
    fields(otel.kind = "client", rpc.system = "grpc", rpc.service = "shop.Inventory", rpc.method = "Reserve")
)]
async fn reserve(client: &mut InventoryClient<Channel>, order: ReserveRequest) -> Result<Reservation, tonic::Status> {
    let mut request = tonic::Request::new(order);
    telemetry::inject(&mut telemetry::MetadataInjector(request.metadata_mut()));
    Ok(client.reserve(request).await?.into_inner())
}

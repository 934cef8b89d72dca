//! `inventory`: holds stock for an order and prices it under the tenant's contract, with the
//! demo's business logic under `#[tracing::instrument]` where the demo has `#[local]`.

use std::future::Future;

use examples::shop::proto::inventory_server::{Inventory, InventoryServer};
use examples::shop::proto::{Reservation, ReserveRequest};
use examples::shop::{self, Contract, Stock};
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};
use tower_http::trace::TraceLayer;

use crate::{telemetry, Error};

#[derive(Debug, Default)]
struct Warehouse {
    stock: Stock,
}

pub async fn serve(listener: TcpListener, stop: impl Future<Output = ()>) -> Result<(), Error> {
    tonic::transport::Server::builder()
        .layer(
            TraceLayer::new_for_grpc().make_span_with(telemetry::server_span).on_response(telemetry::record_response),
        )
        .add_service(InventoryServer::new(Warehouse::default()))
        .serve_with_incoming_shutdown(TcpIncoming::from(listener).with_nodelay(Some(true)), stop)
        .await?;
    Ok(())
}

#[tonic::async_trait]
impl Inventory for Warehouse {
    async fn reserve(&self, request: Request<ReserveRequest>) -> Result<Response<Reservation>, Status> {
        let hold = |item: &str, quantity| self.hold(item, quantity);
        shop::reserve(&self.stock, request.into_inner(), hold, price).map(Response::new)
    }
}

impl Warehouse {
    #[tracing::instrument(skip_all)]
    fn hold(&self, item: &str, quantity: u32) -> Result<(u64, u64), Status> {
        self.stock.hold(item, quantity)
    }
}

#[tracing::instrument(skip_all, fields(tenant = contract.tenant))]
fn price(contract: &Contract, unit_cents: u64, quantity: u32) -> (u64, u32) {
    let total = best_tier_price(contract.tiers, unit_cents, quantity);
    (total, fraud_risk(contract.screening_rounds, total))
}

#[tracing::instrument(skip_all)]
fn best_tier_price(tiers: u32, unit_cents: u64, quantity: u32) -> u64 {
    shop::best_tier_price(tiers, unit_cents, quantity)
}

#[tracing::instrument(skip_all)]
fn fraud_risk(rounds: u32, total_cents: u64) -> u32 {
    shop::fraud_risk(rounds, total_cents)
}

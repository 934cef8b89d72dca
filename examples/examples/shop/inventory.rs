//! The `inventory` service: a tonic gRPC server behind `spanscope::tower::ServerLayer` that holds
//! stock for an order and prices it under the tenant's contract. The pricing is the CPU-heavy
//! step of the demo, run under `#[profiled]` so every CPU sample knows its tenant.

use std::future::Future;

use examples::shop::proto::inventory_server::{Inventory, InventoryServer};
use examples::shop::proto::{Reservation, ReserveRequest};
use examples::shop::{self, Contract, Stock};
use spanscope::{local, profiled};
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use crate::Error;

spanscope::tags! {
    /// The RPC a CPU sample was spent serving.
    pub route: &'static str = "http.route",
    /// The customer an order is for: on the pricing span and on every CPU sample inside it.
    pub tenant: &'static str,
}

/// The inventory service: the stock it holds orders from.
#[derive(Debug, Default)]
struct Warehouse {
    stock: Stock,
}

pub async fn serve(listener: TcpListener, stop: impl Future<Output = ()>) -> Result<(), Error> {
    let warehouse = Warehouse::default();
    tonic::transport::Server::builder()
        .layer(spanscope::tower::ServerLayer::new())
        .add_service(InventoryServer::new(warehouse))
        // Without TCP_NODELAY a reply's trailers wait for the ACK of its data (Nagle's
        // algorithm meeting the caller's delayed ACK): 40 ms per call.
        .serve_with_incoming_shutdown(TcpIncoming::from(listener).with_nodelay(Some(true)), stop)
        .await?;
    Ok(())
}

#[tonic::async_trait]
impl Inventory for Warehouse {
    async fn reserve(&self, request: Request<ReserveRequest>) -> Result<Response<Reservation>, Status> {
        let hold = |item: &str, quantity| self.hold(item, quantity);
        shop::reserve(&self.stock, request.into_inner(), hold, price)
            .inspect_err(|status| tracing::warn!(code = ?status.code(), "reservation refused: {}", status.message()))
            .map(Response::new)
    }
}

impl Warehouse {
    /// Takes `quantity` of `item` out of stock: its unit price and the units left.
    #[local]
    fn hold(&self, item: &str, quantity: u32) -> Result<(u64, u64), Status> {
        self.stock.hold(item, quantity)
    }
}

/// The order's total under the tenant's contract, and its fraud risk.
#[local(tags(tenant = contract.tenant))]
#[profiled(route = "/shop.Inventory/Reserve", tenant = contract.tenant)]
#[inline(never)]
fn price(contract: &Contract, unit_cents: u64, quantity: u32) -> (u64, u32) {
    let total = best_tier_price(contract.tiers, unit_cents, quantity);
    let risk = fraud_risk(contract.screening_rounds, total);
    // Made under the `#[profiled]` tags: the record carries the tenant and the route.
    tracing::info!(total_cents = total, risk, "priced");
    (total, risk)
}

/// The lowest total among the contract's price tiers.
#[local]
fn best_tier_price(tiers: u32, unit_cents: u64, quantity: u32) -> u64 {
    shop::best_tier_price(tiers, unit_cents, quantity)
}

/// The order's fraud risk, from 0 (clean) to 99.
#[local]
fn fraud_risk(rounds: u32, total_cents: u64) -> u32 {
    shop::fraud_risk(rounds, total_cents)
}

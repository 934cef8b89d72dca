//! The `inventory` service: a tonic gRPC server behind `spanscope::tower::ServerLayer` that holds
//! stock for an order and prices it under the tenant's contract. The pricing is the CPU-heavy
//! step of the demo, run under `#[profiled]` so every CPU sample knows its tenant.

use std::collections::HashMap;
use std::future::Future;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use spanscope::{local, profiled};
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use crate::proto::inventory_server::{Inventory, InventoryServer};
use crate::proto::{Reservation, ReserveRequest};
use crate::Error;

spanscope::tags! {
    /// The RPC a CPU sample was spent serving.
    pub route: &'static str = "http.route",
    /// The customer an order is for: on the pricing span and on every CPU sample inside it.
    pub tenant: &'static str,
}

/// What a tenant's orders cost to price: the price tiers its contract has us search, and the
/// rounds of fraud screening its risk class needs.
#[derive(Debug)]
struct Contract {
    tenant: &'static str,
    tiers: u32,
    screening_rounds: u32,
}

/// The tenants, cheapest to price first: globex has a large tiered contract, initech is screened
/// hard, umbrella has both.
const CONTRACTS: [Contract; 4] = [
    Contract { tenant: "acme", tiers: 200_000, screening_rounds: 80_000 },
    Contract { tenant: "globex", tiers: 1_000_000, screening_rounds: 40_000 },
    Contract { tenant: "initech", tiers: 100_000, screening_rounds: 400_000 },
    Contract { tenant: "umbrella", tiers: 1_000_000, screening_rounds: 400_000 },
];

/// The catalogue: item and unit price in cents.
const CATALOGUE: [(&str, u64); 5] =
    [("book", 1_299), ("lamp", 4_500), ("pen", 199), ("desk", 24_900), ("chair", 15_900)];

/// Units of each item in stock at start.
const INITIAL_STOCK: u64 = 1_000_000;

/// The stock, and the last reservation's number.
#[derive(Debug)]
struct Warehouse {
    stock: Mutex<HashMap<&'static str, u64>>,
    reservations: AtomicU64,
}

pub async fn serve(listener: TcpListener, stop: impl Future<Output = ()>) -> Result<(), Error> {
    let warehouse = Warehouse {
        stock: Mutex::new(CATALOGUE.iter().map(|(item, _)| (*item, INITIAL_STOCK)).collect()),
        reservations: AtomicU64::new(0),
    };
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
        let ReserveRequest { tenant, item, quantity } = request.into_inner();
        let contract = CONTRACTS
            .iter()
            .find(|c| c.tenant == tenant)
            .ok_or_else(|| Status::not_found(format!("no contract with tenant {tenant:?}")))?;
        let (unit_cents, remaining) = self.hold(&item, quantity)?;
        let (total_cents, risk) = price(contract, unit_cents, quantity);
        let id = self.reservations.fetch_add(1, Ordering::Relaxed) + 1;
        Ok(Response::new(Reservation { id, total_cents, risk, remaining }))
    }
}

impl Warehouse {
    /// Takes `quantity` of `item` out of stock: its unit price and the units left.
    #[local]
    fn hold(&self, item: &str, quantity: u32) -> Result<(u64, u64), Status> {
        let (item, unit_cents) =
            *CATALOGUE.iter().find(|(name, _)| *name == item).ok_or_else(|| Status::not_found("no such item"))?;
        let mut stock = self.stock.lock().unwrap_or_else(|e| e.into_inner());
        let left = stock.entry(item).or_default();
        *left = left.checked_sub(quantity.into()).ok_or_else(|| Status::failed_precondition("out of stock"))?;
        Ok((unit_cents, *left))
    }
}

/// The order's total under the tenant's contract, and its fraud risk.
#[local(tags(tenant = contract.tenant))]
#[profiled(route = "/shop.Inventory/Reserve", tenant = contract.tenant)]
#[inline(never)]
fn price(contract: &Contract, unit_cents: u64, quantity: u32) -> (u64, u32) {
    let total = best_tier_price(contract.tiers, unit_cents, quantity);
    (total, fraud_risk(contract.screening_rounds, total))
}

/// The lowest total among the contract's price tiers, each a volume discount of up to 20%.
// Not inlined, here and below, so that a release build's profile names them without debug info.
#[local]
#[inline(never)]
fn best_tier_price(tiers: u32, unit_cents: u64, quantity: u32) -> u64 {
    let list = (unit_cents * u64::from(quantity)) as f64;
    let quantity = f64::from(quantity);
    let mut best = list;
    for tier in 0..black_box(tiers) {
        // The further the quantity is past the tier's breakpoint, the larger the discount.
        let breakpoint = f64::from(tier % 97) / 8.0;
        let discount = 0.2 * quantity / (quantity + breakpoint + 1.0);
        best = best.min(list * (1.0 - discount));
    }
    best.round() as u64
}

/// A score from 0 (clean) to 99: rounds of keyed hashing over the order, as a fraud screening's
/// feature hashing would do.
#[local]
#[inline(never)]
fn fraud_risk(rounds: u32, total_cents: u64) -> u32 {
    let mut state = total_cents;
    for round in 0..black_box(rounds) {
        let mut hasher = DefaultHasher::new();
        (state, round).hash(&mut hasher);
        state = hasher.finish();
    }
    (state % 100) as u32
}

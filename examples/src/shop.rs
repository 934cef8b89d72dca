//! The `shop` demo's business, without instrumentation: contracts, catalogue, stock and the
//! pricing computation. The demo (`examples/examples/shop`) instruments it with spanscope; the
//! end-to-end benchmark builds the same three services with `tracing` + OpenTelemetry around the
//! same code (`benches/src/bin/shop-tracing`), so both stacks do the same work.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use http::StatusCode;
use tonic::Status;

use proto::{Reservation, ReserveRequest};

/// The generated gRPC code of `proto/shop.proto`: inventory's service.
pub mod proto {
    tonic::include_proto!("shop");
}

/// What a tenant's orders cost to price: the price tiers its contract has us search, and the
/// rounds of fraud screening its risk class needs.
#[derive(Debug)]
pub struct Contract {
    pub tenant: &'static str,
    pub tiers: u32,
    pub screening_rounds: u32,
}

/// The tenants, cheapest to price first: globex has a large tiered contract, initech is screened
/// hard, umbrella has both.
pub const CONTRACTS: [Contract; 4] = [
    Contract { tenant: "acme", tiers: 200_000, screening_rounds: 80_000 },
    Contract { tenant: "globex", tiers: 1_000_000, screening_rounds: 40_000 },
    Contract { tenant: "initech", tiers: 100_000, screening_rounds: 400_000 },
    Contract { tenant: "umbrella", tiers: 1_000_000, screening_rounds: 400_000 },
];

/// The catalogue: item and unit price in cents.
pub const CATALOGUE: [(&str, u64); 5] =
    [("book", 1_299), ("lamp", 4_500), ("pen", 199), ("desk", 24_900), ("chair", 15_900)];

/// Units of each item in stock at start.
const INITIAL_STOCK: u64 = 1_000_000;

/// The contract of `tenant`.
pub fn contract(tenant: &str) -> Result<&'static Contract, Status> {
    CONTRACTS
        .iter()
        .find(|c| c.tenant == tenant)
        .ok_or_else(|| Status::not_found(format!("no contract with tenant {tenant:?}")))
}

/// The stock, and the last reservation's number.
#[derive(Debug)]
pub struct Stock {
    levels: Mutex<HashMap<&'static str, u64>>,
    reservations: AtomicU64,
}

impl Default for Stock {
    fn default() -> Self {
        Self {
            levels: Mutex::new(CATALOGUE.iter().map(|(item, _)| (*item, INITIAL_STOCK)).collect()),
            reservations: AtomicU64::new(0),
        }
    }
}

impl Stock {
    /// Takes `quantity` of `item` out of stock: its unit price and the units left.
    pub fn hold(&self, item: &str, quantity: u32) -> Result<(u64, u64), Status> {
        let (item, unit_cents) =
            *CATALOGUE.iter().find(|(name, _)| *name == item).ok_or_else(|| Status::not_found("no such item"))?;
        let mut levels = self.levels.lock().unwrap_or_else(|e| e.into_inner());
        let left = levels.entry(item).or_default();
        *left = left.checked_sub(quantity.into()).ok_or_else(|| Status::failed_precondition("out of stock"))?;
        Ok((unit_cents, *left))
    }

    /// The next reservation's number.
    pub fn next_reservation(&self) -> u64 {
        self.reservations.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// inventory's reservation of `order`: the tenant's contract, the stock held, the order priced.
/// `hold` and `price` are the steps a stack instruments: [`Stock::hold`], and [`best_tier_price`]
/// then [`fraud_risk`], wrapped in its spans.
pub fn reserve(
    stock: &Stock,
    order: ReserveRequest,
    hold: impl FnOnce(&str, u32) -> Result<(u64, u64), Status>,
    price: impl FnOnce(&'static Contract, u64, u32) -> (u64, u32),
) -> Result<Reservation, Status> {
    let ReserveRequest { tenant, item, quantity } = order;
    let contract = contract(&tenant)?;
    let (unit_cents, remaining) = hold(&item, quantity)?;
    let (total_cents, risk) = price(contract, unit_cents, quantity);
    Ok(Reservation { id: stock.next_reservation(), total_cents, risk, remaining })
}

/// orders' answer for inventory's: the order as JSON, or the HTTP status that stands for the
/// gRPC one, with its message.
pub fn order_reply(reservation: Result<Reservation, Status>) -> Result<String, (StatusCode, String)> {
    let reservation = reservation.map_err(|status| {
        let code = match status.code() {
            tonic::Code::NotFound => StatusCode::NOT_FOUND,
            tonic::Code::FailedPrecondition => StatusCode::CONFLICT,
            _ => StatusCode::BAD_GATEWAY,
        };
        (code, status.message().to_owned())
    })?;
    Ok(serde_json::json!({
        "order": reservation.id,
        "total_cents": reservation.total_cents,
        "risk": reservation.risk,
    })
    .to_string())
}

/// frontend's answer: orders' answer as it came.
pub fn relay(status: StatusCode, body: String) -> Result<String, (StatusCode, String)> {
    if status.is_success() {
        Ok(body)
    } else {
        Err((status, body))
    }
}

/// The lowest total among `tiers` price tiers, each a volume discount of up to 20%, and the
/// contract's price sheet the tiers are checked against: one entry per 16 tiers, built for each
/// order, so large contracts allocate more (what the allocation profile shows per tenant).
// Not inlined, here and below, so that a release build's profile names them without debug info.
#[inline(never)]
pub fn best_tier_price(tiers: u32, unit_cents: u64, quantity: u32) -> u64 {
    let list = (unit_cents * u64::from(quantity)) as f64;
    let quantity = f64::from(quantity);
    // The further the quantity is past the tier's breakpoint, the larger the discount.
    let discount = |tier: u32| 0.2 * quantity / (quantity + f64::from(tier % 97) / 8.0 + 1.0);
    let sheet: Vec<f64> = (0..black_box(tiers)).step_by(16).map(|tier| list * (1.0 - discount(tier))).collect();
    let mut best = black_box(sheet).iter().copied().fold(list, f64::min);
    for tier in 0..black_box(tiers) {
        best = best.min(list * (1.0 - discount(tier)));
    }
    best.round() as u64
}

/// A score from 0 (clean) to 99: `rounds` of keyed hashing over the order, as a fraud
/// screening's feature hashing would do.
#[inline(never)]
pub fn fraud_risk(rounds: u32, total_cents: u64) -> u32 {
    let mut state = total_cents;
    for round in 0..black_box(rounds) {
        let mut hasher = DefaultHasher::new();
        (state, round).hash(&mut hasher);
        state = hasher.finish();
    }
    (state % 100) as u32
}

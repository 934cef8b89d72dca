//! An async service on tokio: nested async calls, work spawned into other tasks, an error path.
//!
//! ```text
//! OTEL_TRACES_EXPORTER=console cargo run --example async_service
//! ```

use std::time::Duration;

use spanscope::{entry, exit, local};

spanscope::tags! {
    pub order_id: u64 = "order.id",
}

#[derive(Debug)]
enum OrderError {
    PaymentDeclined,
}

impl std::fmt::Display for OrderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::PaymentDeclined => f.write_str("payment declined"),
        }
    }
}

#[entry(name = "place order", tags(order_id = id))]
async fn place_order(id: u64) -> Result<(), OrderError> {
    let (stock, price) = tokio::join!(check_stock(id), quote(id));
    // Sending the confirmation does not hold up the answer; it continues the trace elsewhere.
    let confirmation = spanscope::spawn(send_confirmation(id));
    charge(id, stock * price).await?;
    confirmation.await.expect("confirmation task");
    Ok(())
}

#[exit(peer = "inventory.internal:8080")]
async fn check_stock(id: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(3)).await;
    id % 5 + 1
}

#[local]
async fn quote(id: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(1)).await;
    100 + id
}

#[exit(peer = "payments.internal:443")]
async fn charge(id: u64, amount: u64) -> Result<(), OrderError> {
    tokio::time::sleep(Duration::from_millis(2)).await;
    if id.is_multiple_of(3) {
        return Err(OrderError::PaymentDeclined);
    }
    let _ = amount;
    Ok(())
}

#[local]
async fn send_confirmation(id: u64) {
    tokio::time::sleep(Duration::from_millis(4)).await;
    let _ = id;
}

#[spanscope::main(service = "orders")]
async fn main() {
    let orders: Vec<_> = (1..=4).map(|id| tokio::spawn(place_order(id))).collect();
    for (id, order) in (1..).zip(orders) {
        match order.await.expect("order task") {
            Ok(()) => println!("order {id}: placed"),
            Err(error) => println!("order {id}: {error}"),
        }
    }
}

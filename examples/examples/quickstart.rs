//! The smallest useful spanscope program: a sync "service" handling a few requests.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! Spans go to `spanscope-out/traces.jsonl` (OTLP/JSON, one line per batch). Set
//! `OTEL_TRACES_EXPORTER=console` to see each trace as a tree instead.

use spanscope::{entry, exit, local, profiled};

spanscope::tags! {
    /// The route being served: on the entry span and on every CPU sample inside it.
    pub route: &'static str = "http.route",
    /// Who the request is for.
    pub tenant: String,
}

#[derive(Debug)]
struct OutOfStock(&'static str);

impl std::fmt::Display for OutOfStock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is out of stock", self.0)
    }
}

#[entry(name = "POST /checkout", tags(route = "/checkout", tenant = tenant.to_owned()))]
fn checkout(tenant: &str, items: &[&'static str]) -> Result<u64, OutOfStock> {
    let total = price(tenant, items);
    for item in items {
        reserve(item)?;
    }
    spanscope::current().log("reserved every item");
    Ok(total)
}

#[local]
#[profiled(tenant = tenant.to_owned())]
fn price(tenant: &str, items: &[&'static str]) -> u64 {
    items.iter().map(|item| item.len() as u64 * 100).sum()
}

#[exit(peer = "inventory:8080")]
fn reserve(item: &'static str) -> Result<(), OutOfStock> {
    if item == "unicorn" {
        return Err(OutOfStock(item));
    }
    Ok(())
}

#[spanscope::main(service = "quickstart")]
fn main() {
    for (tenant, items) in [("acme", vec!["book", "pen"]), ("globex", vec!["lamp", "unicorn"])] {
        match checkout(tenant, &items) {
            Ok(total) => println!("{tenant}: charged {total}"),
            Err(error) => println!("{tenant}: {error}"),
        }
    }
}

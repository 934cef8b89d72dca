//! The instrumented code every exporter test reports: an entry that continues a propagated
//! caller, nested local spans, an exit with a peer, a failing step with its error log, tags,
//! and a thread continuing the trace.

use std::fmt;

use http::HeaderMap;
use spanscope::{entry, exit, local};

spanscope::tags! {
    /// The route served.
    pub route: &'static str = "http.route",
    /// A number, to see integer tags travel.
    pub items: i64 = "order.items",
}

/// The W3C caller the entry continues.
pub const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
pub const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
pub const PARENT_SPAN_ID: &str = "00f067aa0ba902b7";

/// The failure `charge` reports.
#[derive(Debug)]
pub struct Declined;

impl fmt::Display for Declined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("card declined")
    }
}

/// `GET /orders/{id}` [entry] → `price` [local] → `tax` [local]; `reserve` [exit to
/// inventory:8080]; `charge` [local, fails]; `audit` on another thread [local].
#[entry(name = "GET /orders/{id}", headers = headers, tags(route = "/orders/{id}", items = 3))]
pub fn serve(headers: &HeaderMap) -> Result<(), Declined> {
    price();
    reserve();
    spanscope::thread::spawn(audit).join().expect("audit thread");
    charge()
}

#[local]
fn price() -> u64 {
    tax() * 2
}

#[local]
fn tax() -> u64 {
    7
}

#[exit(peer = "inventory:8080")]
fn reserve() {}

#[local]
fn charge() -> Result<(), Declined> {
    Err(Declined)
}

#[local]
fn audit() {}

/// Incoming headers with the W3C caller.
pub fn w3c_caller() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("traceparent", TRACEPARENT.parse().expect("header"));
    headers
}

/// A span, inside `batch` or as a segment of its own.
#[local(name = "tick")]
pub fn tick() {}

/// A segment of `1 + children` spans.
#[entry(name = "batch")]
pub fn batch(children: usize) {
    for _ in 0..children {
        tick();
    }
}

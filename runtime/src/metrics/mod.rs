//! Metrics: instruments declared once with [`metrics!`](crate::metrics!), recorded on the hot
//! path into per-thread cells, and summed by the reporter at each collection.
//!
//! ```
//! spanscope::tags! {
//!     pub route: &'static str = "http.route",
//!     pub tenant: String,
//! }
//!
//! spanscope::metrics! {
//!     /// Orders placed.
//!     pub orders: Counter<u64> = "shop.orders" { unit: "{order}", attributes: [route, tenant] },
//!     /// Time to price a basket.
//!     pub price_duration: Histogram<f64> = "shop.price.duration" {
//!         unit: "s",
//!         attributes: [tenant],
//!         buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0],
//!     },
//! }
//!
//! // Declared at module level (not in `main`): each instrument's module sees its parent's items.
//! fn main() {
//!     let tenant = String::from("acme");
//!     orders::add(1, orders::Attributes { route: "/checkout", tenant: &tenant });
//!     spanscope::record!(price_duration, 0.042, tenant = &tenant);
//!     // A bound handle: the attribute set is looked up once.
//!     let checkout = orders::bind(orders::Attributes { route: "/checkout", tenant: "acme" });
//!     checkout.add(1);
//! }
//! ```
//!
//! The map:
//! - `instrument`: the instrument statics `metrics!` declares and their bound handles;
//! - `attributes`: attribute sets, as the generated structs present them;
//! - `shard` and `cell`: each thread's cells, and how a recording writes one;
//! - `registry`: instruments, series and shards, process-wide, off the hot path;
//! - `exemplar`: recordings kept with the sampled span (and profile) they were made in;
//! - `observe`: callbacks of observable instruments;
//! - `collect` and `snapshot`: summing the shards, and what the exporters receive.

mod attributes;
pub(crate) mod auto;
mod cell;
pub(crate) mod collect;
pub(crate) mod exemplar;
mod instrument;
mod observe;
pub(crate) mod registry;
mod shard;
pub(crate) mod snapshot;
#[cfg(test)]
mod tests;

pub use attributes::{Attr, AttrRef, AttrValue, AttributeSchema, AttributeSet};
pub use instrument::{
    BoundCounter, BoundGauge, BoundHistogram, BoundUpDownCounter, Counter, Gauge, Histogram, InstrumentKind,
    InstrumentMeta, MetricValue, Observable, UpDownCounter, ValueKind, DEFAULT_BUCKETS,
};
pub use observe::Observer;

pub(crate) use cell::bucket_of;

//! Context propagation: reading a caller's trace context from an incoming request and writing
//! ours into an outgoing one.
//!
//! A [carrier](carrier) is anything that holds header-like fields; a format reads and writes
//! its own fields in it. Every parser here is total: any bytes give either a context or a
//! counted, ignored header, never a panic, and work bounded by the header's length.

mod carrier;
pub(crate) mod traceparent;

pub use carrier::{Extractor, Injector};

use crate::span::{ParentContext, Segment};

/// The context found in `carrier`, or `None` (a new trace starts).
pub(crate) fn extract_parent<C: Extractor + ?Sized>(carrier: &C) -> Option<ParentContext> {
    traceparent::extract(carrier)
}

/// Writes the context of span `index` of `segment` into `carrier`.
pub(crate) fn inject_from<C: Injector + ?Sized>(segment: &Segment, index: u32, carrier: &mut C) {
    traceparent::inject(segment, index, carrier);
}

//! The `skywalking` crate (0.10): `TracingContext::create_local_span` under an entry span, with
//! a reporter that discards. SkyWalking has no ambient context, so the root hands the
//! `TracingContext` to each child. Dropping the context turns it into a `SegmentObject` on the
//! calling thread and passes it to the reporter; that conversion is part of the measured cost,
//! as it is in a real service.
//!
//! Built only with the `peer-skywalking` feature (the crate needs `protoc`, or its `vendored`
//! feature, at build time).

use std::hint::black_box;

use skywalking::reporter::{CollectItem, Report};
use skywalking::trace::trace_context::TracingContext;
use skywalking::trace::tracer::Tracer;

/// A reporter that drops every item.
struct DiscardReporter;

impl Report for DiscardReporter {
    fn report(&self, item: CollectItem) {
        drop(black_box(item));
    }
}

#[inline(never)]
fn child(cx: &mut TracingContext, input: u64) -> u64 {
    let _span = cx.create_local_span("child");
    black_box(input)
}

/// A tracer with the discarding reporter; it must outlive every context it creates.
pub struct Skywalking {
    tracer: Tracer,
}

impl std::fmt::Debug for Skywalking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Skywalking").finish_non_exhaustive()
    }
}

impl Skywalking {
    pub fn setup() -> Self {
        Self { tracer: Tracer::new("bench", "bench-instance", DiscardReporter) }
    }
}

impl super::shape::Peer for Skywalking {
    type Root = TracingContext;

    fn in_root(&self, body: impl FnOnce(&mut TracingContext)) {
        let mut cx = self.tracer.create_trace_context();
        let entry = cx.create_entry_span("root");
        body(&mut cx);
        drop(entry);
        drop(cx); // reports the segment
    }

    fn child(&self, cx: &mut TracingContext, input: u64) -> u64 {
        child(cx, input)
    }
}

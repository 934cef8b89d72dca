//! Where finished segments go: the queue to the reporter thread, which `init` installs. When
//! the queue is full or nothing runs, the segment is dropped and counted.

use super::Segment;
use crate::outbox::{Installed, Outbox, Refused};
use crate::stats::{self, Counter};

static OUTBOX: Installed<Box<Segment>> = Installed::new();

/// Makes `outbox` the one finished segments go to.
pub(crate) fn install(outbox: Outbox<Box<Segment>>) {
    OUTBOX.install(outbox);
}

/// Hands a finished segment over without waiting; drops and counts it if the queue is full or
/// spanscope has shut down.
pub(crate) fn submit(segment: Box<Segment>) {
    let spans = segment.spans.len() as u64;
    let outbox = match (crate::state::current(), OUTBOX.get()) {
        (Some(_), Some(outbox)) => outbox,
        _ => return stats::add(Counter::SpansDroppedShutdown, spans),
    };
    match outbox.send(segment) {
        Ok(()) => {}
        Err(Refused::Full) => stats::add(Counter::SpansDroppedQueueFull, spans),
        Err(Refused::Closed) => stats::add(Counter::SpansDroppedShutdown, spans),
    }
}

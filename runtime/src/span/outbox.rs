//! Where finished segments go: a bounded queue to the thread that exports them, which `init`
//! installs. Handing a segment over is one non-blocking queue operation; when the queue is full
//! or nothing runs, the segment is dropped and counted.

use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, Notify};

use super::Segment;
use crate::stats::{self, Counter};

/// The application threads' end of the queue.
#[derive(Debug)]
pub(crate) struct Outbox {
    segments: mpsc::Sender<Box<Segment>>,
    /// Wakes the receiver between two collections when the queue is a quarter full.
    filling: Arc<Notify>,
}

/// The exporting thread's end of the queue.
#[derive(Debug)]
pub(crate) struct OutboxReceiver {
    pub segments: mpsc::Receiver<Box<Segment>>,
    /// Notified when the queue is a quarter full.
    pub filling: Arc<Notify>,
}

/// A queue of `capacity` segments.
pub(crate) fn channel(capacity: usize) -> (Outbox, OutboxReceiver) {
    let (sender, receiver) = mpsc::channel(capacity);
    let filling = Arc::new(Notify::new());
    (Outbox { segments: sender, filling: Arc::clone(&filling) }, OutboxReceiver { segments: receiver, filling })
}

/// The installed outbox. Like the run's state (see `state`), a replaced one is never freed.
static OUTBOX: AtomicPtr<Outbox> = AtomicPtr::new(std::ptr::null_mut());

/// Makes `outbox` the one finished segments go to.
pub(crate) fn install(outbox: Outbox) {
    OUTBOX.store(Box::leak(Box::new(outbox)), Ordering::Release);
}

/// Hands a finished segment over without waiting; drops and counts it if the queue is full or
/// spanscope has shut down.
pub(crate) fn submit(segment: Box<Segment>) {
    let spans = segment.spans.len() as u64;
    let outbox = OUTBOX.load(Ordering::Acquire);
    if crate::state::current().is_none() || outbox.is_null() {
        stats::add(Counter::SpansDroppedShutdown, spans);
        return;
    }
    // SAFETY: a non-null pointer was stored by `install` from `Box::leak`: it is never freed.
    let outbox = unsafe { &*outbox };
    match outbox.segments.try_send(segment) {
        Ok(()) => {
            if outbox.segments.capacity() <= outbox.segments.max_capacity() / 4 * 3 {
                outbox.filling.notify_one();
            }
        }
        Err(mpsc::error::TrySendError::Full(_)) => stats::add(Counter::SpansDroppedQueueFull, spans),
        Err(mpsc::error::TrySendError::Closed(_)) => stats::add(Counter::SpansDroppedShutdown, spans),
    }
}

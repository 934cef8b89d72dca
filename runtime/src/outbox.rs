//! The bounded queue from application threads to the reporter thread, for any signal that
//! hands items over one by one (finished segments, log records).
//!
//! Handing an item over is one non-blocking queue operation. The receiver is not woken by
//! every item: it takes what is queued at intervals while items keep coming, and the queue
//! wakes it sooner once it is a quarter full (see `export::pipeline`).

use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, Notify};

/// The application threads' end of a queue.
#[derive(Debug)]
pub(crate) struct Outbox<T> {
    sender: mpsc::Sender<T>,
    /// Wakes the receiver between two collections when the queue is a quarter full.
    filling: Arc<Notify>,
}

/// The reporter's end of a queue.
#[derive(Debug)]
pub(crate) struct OutboxReceiver<T> {
    pub items: mpsc::Receiver<T>,
    /// Notified when the queue is a quarter full.
    pub filling: Arc<Notify>,
}

/// Why an item was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    Full,
    /// The receiver is gone: spanscope shut down.
    Closed,
}

/// A queue of `capacity` items.
pub(crate) fn channel<T>(capacity: usize) -> (Outbox<T>, OutboxReceiver<T>) {
    let (sender, receiver) = mpsc::channel(capacity);
    let filling = Arc::new(Notify::new());
    (Outbox { sender, filling: Arc::clone(&filling) }, OutboxReceiver { items: receiver, filling })
}

impl<T> Outbox<T> {
    /// Queues `item` without waiting.
    #[inline]
    pub(crate) fn send(&self, item: T) -> Result<(), Refused> {
        match self.sender.try_send(item) {
            Ok(()) => {
                if self.sender.capacity() <= self.sender.max_capacity() / 4 * 3 {
                    self.filling.notify_one();
                }
                Ok(())
            }
            Err(mpsc::error::TrySendError::Full(_)) => Err(Refused::Full),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(Refused::Closed),
        }
    }
}

/// The outbox of the current run. Like the run's state (see `state`), a replaced outbox is
/// never freed: a thread may still be sending through it.
#[derive(Debug)]
pub(crate) struct Installed<T>(AtomicPtr<Outbox<T>>);

impl<T> Installed<T> {
    pub(crate) const fn new() -> Self {
        Self(AtomicPtr::new(std::ptr::null_mut()))
    }

    /// Makes `outbox` the one items go to.
    pub(crate) fn install(&self, outbox: Outbox<T>) {
        self.0.store(Box::leak(Box::new(outbox)), Ordering::Release);
    }

    /// The installed outbox, if any.
    #[inline]
    pub(crate) fn get(&self) -> Option<&'static Outbox<T>> {
        let outbox = self.0.load(Ordering::Acquire);
        // SAFETY: a non-null pointer was stored by `install` from `Box::leak`: it is never
        // freed, and `Outbox` is only read through shared references.
        (!outbox.is_null()).then(|| unsafe { &*outbox })
    }
}

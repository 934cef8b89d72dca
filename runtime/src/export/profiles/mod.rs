//! CPU profiles on their way to a profile backend: the load profile lanes carry, and the
//! profiler collector's hand-over to the reporter thread.
//!
//! The collector thread only [submits](ProfileSender::submit) a window, one non-blocking send into a queue of a few
//! windows; the reporter moves it into every profile lane at once, where the oldest windows
//! beyond [`BACKLOG`] are dropped, so memory stays bounded and the collector never waits.

pub(crate) mod files;
pub(crate) mod flamegraph;
pub(crate) mod pyroscope;

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::export::Load;
use crate::stats::{self, Counter, Signal};

/// Windows a profile lane keeps (waiting and in flight), and windows the hand-over queue holds:
/// a minute of profiles at the default 10 s interval.
pub(crate) const BACKLOG: usize = 6;

/// One window's CPU profile, encoded once for every exporter.
#[derive(Debug)]
pub(crate) struct ProfileWindow {
    /// The pprof `Profile`, serialised and gzipped.
    pub gzipped: Bytes,
    pub start: SystemTime,
    pub end: SystemTime,
}

impl Load for ProfileWindow {
    const SIGNAL: Signal = Signal::Profiles;

    fn units(&self) -> u64 {
        1
    }
}

/// The collector's end of the hand-over queue.
#[derive(Debug, Clone)]
pub(crate) struct ProfileSender(pub(super) mpsc::Sender<Arc<ProfileWindow>>);

impl ProfileSender {
    /// Hands a window to the reporter without waiting; drops and counts it if the queue is full
    /// or the reporter has shut down.
    pub(crate) fn submit(&self, window: Arc<ProfileWindow>) {
        match self.0.try_send(window) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => stats::add(Counter::ProfilesDroppedQueueFull, 1),
            Err(mpsc::error::TrySendError::Closed(_)) => stats::add(Counter::ProfilesDroppedShutdown, 1),
        }
    }
}

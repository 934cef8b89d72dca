//! What a finished window is handed to: the profile exporters. The `local` one writes files on
//! the collector thread; network ones are lanes on the export reporter, reached through one
//! non-blocking hand-over ([`ProfileSender`]).

use std::sync::Arc;

use super::proto::perftools::profiles::Profile;
use crate::export::{ProfileSender, ProfileWindow};

/// One window's profile, built and encoded once for every exporter.
#[derive(Debug)]
pub(crate) struct Finished {
    pub profile: Profile,
    /// `profile` encoded, with its time span.
    pub window: Arc<ProfileWindow>,
}

/// A destination for profiles. Runs on the collector thread; must not block it for long.
pub(crate) trait ProfileSink: Send + std::fmt::Debug {
    /// Takes one window's profile; failures are counted and reported, not returned.
    fn export(&mut self, finished: &Finished);
    /// Called after the last window: says what was written where.
    fn shutdown(&mut self) {}
}

/// The network profile exporters: the reporter delivers, retries and, at its own shutdown,
/// accounts for every window handed over.
impl ProfileSink for ProfileSender {
    fn export(&mut self, finished: &Finished) {
        self.submit(Arc::clone(&finished.window));
    }
}

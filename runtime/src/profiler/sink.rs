//! What a finished window is handed to: the profile exporters.

use std::time::{Instant, SystemTime};

use super::proto::perftools::profiles::Profile;

/// One window's profile, built and encoded once for every exporter.
#[derive(Debug)]
pub(crate) struct Finished {
    pub profile: Profile,
    /// `profile`, serialised and gzipped.
    pub gzipped: Vec<u8>,
    pub start: SystemTime,
    pub end: SystemTime,
}

/// A destination for profiles. Runs on the collector thread; must not block it for long
/// (network exporters hand the work to a thread of their own).
pub(crate) trait ProfileSink: Send + std::fmt::Debug {
    /// Takes one window's profile; failures are counted and reported, not returned.
    fn export(&mut self, window: &Finished);
    /// Delivers what is pending by `deadline` and says what was written where.
    fn shutdown(&mut self, deadline: Instant);
}

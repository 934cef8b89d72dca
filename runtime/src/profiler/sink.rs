//! What a finished window is handed to: the sinks `init` gives the profiler (the profile
//! exporters). They run on the collector thread.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;

use crate::proto::perftools::profiles::Profile;

/// One window's CPU profile, encoded once for every exporter.
#[derive(Debug)]
pub(crate) struct ProfileWindow {
    /// The pprof `Profile`, serialised and gzipped.
    pub gzipped: Bytes,
    pub start: SystemTime,
    pub end: SystemTime,
}

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

//! What a finished window is handed to: the sinks `init` gives the profiler (the profile
//! exporters). They run on the collector thread.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;

use crate::proto::perftools::profiles::Profile;

/// What a profile measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProfileKind {
    /// CPU time (`cpu`/`nanoseconds`).
    Cpu,
    /// Allocations: `alloc_objects`, `alloc_space`, `inuse_objects`, `inuse_space`.
    Allocations,
}

impl ProfileKind {
    /// How files of this kind begin, and how messages name it.
    pub(crate) fn file_prefix(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Allocations => "alloc",
        }
    }
}

/// One window's profile of one kind, encoded once for every exporter.
#[derive(Debug)]
pub(crate) struct ProfileWindow {
    pub kind: ProfileKind,
    /// The pprof `Profile`, serialised and gzipped.
    pub gzipped: Bytes,
    pub start: SystemTime,
    pub end: SystemTime,
}

/// One window's profile of one kind, built and encoded once for every exporter.
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

//! Profile exporters: the sinks the profiler's collector hands each window to. `files` writes
//! pprof files and flamegraphs on the collector thread itself; network backends (`pyroscope`)
//! are lanes on the reporter thread, reached through one hand-over.
//!
//! The collector thread only [submits](ProfileSender::submit) a window, one non-blocking send
//! into a queue of a few windows; the reporter moves it into every profile lane at once, where
//! the oldest windows beyond [`BACKLOG`] are dropped, so memory stays bounded and the collector
//! never waits.

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod files;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod flamegraph;
pub(crate) mod pyroscope;

use std::sync::Arc;
use tokio::sync::mpsc;

use crate::config::env::Vars;
use crate::config::profiler::ProfilerSettings;
use crate::config::{ConfigError, Settings};
use crate::error::InitError;
use crate::export::Load;
use crate::profiler::sink::{Finished, ProfileSink, ProfileWindow};
use crate::profiler::ProfilesExporter;
use crate::stats::{self, Counter, Signal};
use pyroscope::PyroscopeSettings;

/// Windows a profile lane keeps (waiting and in flight), and windows the hand-over queue holds:
/// a minute of profiles at the default 10 s interval.
pub(crate) const BACKLOG: usize = 6;

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

/// The network profile exporters: the reporter delivers, retries and, at its own shutdown,
/// accounts for every window handed over.
impl ProfileSink for ProfileSender {
    fn export(&mut self, finished: &Finished) {
        self.submit(Arc::clone(&finished.window));
    }
}

/// A configured profile backend.
#[derive(Debug, Clone)]
pub(crate) enum ProfileBackend {
    /// pprof files and flamegraphs in the output folder.
    Files,
    /// Boxed: its settings are large beside nothing.
    Pyroscope(Box<PyroscopeSettings>),
}

impl ProfileBackend {
    /// The backends the profiler's settings ask for, in their order; each network backend's
    /// variables are read only when it is configured.
    pub(crate) fn resolve_all(settings: &ProfilerSettings, vars: &Vars<'_>) -> Result<Vec<Self>, ConfigError> {
        settings
            .exporters
            .iter()
            .map(|exporter| {
                Ok(match exporter {
                    ProfilesExporter::Local => Self::Files,
                    ProfilesExporter::Pyroscope => {
                        Self::Pyroscope(Box::new(PyroscopeSettings::resolve(vars, settings.pyroscope_address.clone())?))
                    }
                })
            })
            .collect()
    }

    /// The credentials it sends, which no line on standard error may show.
    pub(crate) fn credentials(&self) -> Vec<&str> {
        match self {
            Self::Pyroscope(pyroscope) => pyroscope.headers.values().filter_map(|value| value.to_str().ok()).collect(),
            Self::Files => Vec::new(),
        }
    }
}

/// The sinks of the profiler's windows: the files, opened now so that an error stops `init`,
/// and the hand-over to the reporter's lanes when a network backend is configured.
pub(crate) fn sinks(
    settings: &Settings,
    backends: &[ProfileBackend],
    reporter: Option<ProfileSender>,
) -> Result<Vec<Box<dyn ProfileSink>>, InitError> {
    let mut sinks: Vec<Box<dyn ProfileSink>> = Vec::new();
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    if backends.iter().any(|backend| matches!(backend, ProfileBackend::Files)) {
        let files = files::ProfileFiles::open(
            &settings.out_dir,
            settings.profiler.flamegraph_tag.clone(),
            settings.out_max_bytes / 2,
        )
        .map_err(|error| InitError::Io { path: settings.out_dir.clone(), error })?;
        sinks.push(Box::new(files));
    }
    #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
    let _ = (settings, backends);
    sinks.extend(reporter.map(|sender| Box::new(sender) as Box<dyn ProfileSink>));
    Ok(sinks)
}

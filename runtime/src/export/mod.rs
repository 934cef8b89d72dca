//! Export: the way out for every signal, by signal (`traces/`, `metrics/`, `logs/`, `profiles/`) over
//! shared transports (`transport/`).
//!
//! Application threads only put a finished segment into span's outbox, one non-blocking
//! bounded-queue operation; when the queue is full the segment is dropped and counted. One
//! reporter thread, started here, owns everything else on a small current-thread tokio runtime of its own: batching
//! ([`pipeline`]), and one [lane](lane) per configured exporter that encodes each batch once,
//! sends it, retries retryable failures with capped exponential backoff from a bounded backlog,
//! and counts every span it delivers or drops, as its own and in the process-wide totals. No
//! lane holds another back: one whose backend is slow, hung or down drops its own oldest spans
//! beyond its backlog while the others take every span, and a panic in an exporter is caught at
//! its lane, which goes on. Exporters are the [`Exporter`]s below: one module per backend in
//! its signal's folder, each owning only its wire mapping; each backend's settings are read by
//! its own module into its signal's backend enum ([`TraceBackend`], [`MetricBackend`],
//! [`ProfileBackend`]).
//!
//! Log records come through a queue of their own, batched like segments, and go to every logs
//! lane the way profiles do: a lane that cannot keep up drops its own oldest ([`logs`]).
//!
//! Metrics ride it too: the reporter itself collects them every export interval and hands each
//! collection to every metrics lane ([`metrics`]), where a newer collection replaces one still
//! waiting (collections are cumulative).
//!
//! The profiler's network exporters ride the same machinery: its collector thread hands each
//! window's encoded profile over with one non-blocking send ([`profiles`]), and a lane per
//! profile backend delivers it exactly as span lanes deliver batches. What a lane carries is a
//! [`Load`]; only its counters differ.

mod jsonl;
mod lane;
pub(crate) mod logs;
pub(crate) mod metrics;
mod pipeline;
pub(crate) mod profiles;
mod resource;
pub(crate) mod traces;
mod transport;

use std::sync::Arc;
use std::time::Duration;

pub(crate) use lane::lane_catches_panic;
pub(crate) use logs::LogBackend;
pub(crate) use metrics::MetricBackend;
pub(crate) use pipeline::{is_reporter_thread, start, Control, ControlSender, ReporterHandle};
pub(crate) use profiles::{sinks as profile_sinks, ProfileBackend};
pub(crate) use resource::Resource;
pub(crate) use traces::backends::TraceBackend;

use crate::clock::Converter;
use crate::config::env::Vars;
use crate::config::{ConfigError, Settings};
use crate::error::InitError;
use crate::metrics::snapshot::Snapshot;
use crate::profiler::sink::ProfileWindow;
use crate::span::Segment;
use crate::stats::{self, Counter, Signal};
use lane::Launch;

/// What a lane carries to its exporter: a [`Batch`] of spans, one window's CPU profile, or one
/// collection of the metrics.
pub(crate) trait Load: std::fmt::Debug + 'static {
    /// What it is: which counters of `stats()` its deliveries and drops go to.
    const SIGNAL: Signal;

    /// The units `stats()` counts: the spans of a batch; one for a profile.
    fn units(&self) -> u64;

    /// Counts what a delivery adds besides the units exported (a batch's segments).
    fn count_delivered(&self) {}

    /// Whether a newer load holds everything a waiting older one does (cumulative metrics): a
    /// lane then keeps only its newest waiting load, and the older ones it lets go are not
    /// drops.
    const SUPERSEDED_BY_NEWER: bool = false;

    /// Counts a waiting load a newer one replaced.
    fn count_superseded(&self) {}
}

/// A batch of finished segments, shared by every lane until each has delivered or dropped it.
#[derive(Debug)]
pub(crate) struct Batch {
    // Segments arrive boxed (their owner needed a stable address); unboxing would copy each.
    #[allow(clippy::vec_box)]
    pub segments: Vec<Box<Segment>>,
    /// Spans in `segments`.
    pub spans: u64,
    /// Turns the segments' raw ticks into Unix time; taken when the batch was cut.
    pub clock: Converter,
}

impl Load for Batch {
    const SIGNAL: Signal = Signal::Spans;

    fn units(&self) -> u64 {
        self.spans
    }

    fn count_delivered(&self) {
        stats::add(Counter::SegmentsExported, self.segments.len() as u64);
    }
}

/// What a send achieved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Sent {
    /// Units the backend accepted the request but refused (an OTLP partial success).
    pub rejected: u64,
}

/// Why a send failed, which decides what the lane does next.
#[derive(Debug)]
pub(crate) enum ExportError {
    /// Worth trying again later: unreachable, timed out, overloaded. `after` is the backend's
    /// own advice (`Retry-After`), if it gave one.
    Retryable { reason: String, after: Option<Duration> },
    /// This batch will never be accepted (malformed, too large...): dropped and counted.
    Rejected(String),
    /// The backend refused our credentials: nothing will be accepted until someone acts.
    Unauthorized(String),
    /// A local file or stream could not be written.
    Io(std::io::Error),
}

impl ExportError {
    pub(crate) fn retryable(reason: impl std::fmt::Display) -> Self {
        Self::Retryable { reason: reason.to_string(), after: None }
    }
}

/// A destination for loads (span batches or profiles). Runs on the reporter thread only,
/// inside its lane.
pub(crate) trait Exporter: 'static {
    /// What it delivers.
    type Load: Load;
    /// What a load becomes on the wire: encoded once, kept for retries.
    type Payload;

    /// The exporter and its destination, for messages (never with credentials).
    fn name(&self) -> &str;

    /// The longest one send may take before it counts as a retryable failure.
    fn timeout(&self) -> Duration;

    /// Encodes a load.
    fn encode(&mut self, load: &Self::Load) -> Self::Payload;

    /// Delivers an encoded load.
    async fn send(&mut self, payload: &Self::Payload) -> Result<Sent, ExportError>;

    /// Makes everything sent so far durable or visible.
    fn flush(&mut self) {}

    /// Called once, when the lane has delivered everything: says what was written where.
    fn shutdown(&mut self) {}
}

/// The backends the configuration asks for, each with its own settings.
#[derive(Debug, Clone)]
pub(crate) struct Backends {
    pub traces: Vec<TraceBackend>,
    pub profiles: Vec<ProfileBackend>,
    pub metrics: Vec<MetricBackend>,
    pub logs: Vec<LogBackend>,
}

impl Backends {
    /// Each configured backend's settings, read from `vars` by its own module.
    pub(crate) fn resolve(settings: &Settings, vars: &Vars<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            traces: TraceBackend::resolve_all(settings, vars)?,
            profiles: ProfileBackend::resolve_all(&settings.profiler, vars)?,
            metrics: MetricBackend::resolve_all(settings, vars)?,
            logs: LogBackend::resolve_all(settings, vars)?,
        })
    }

    /// The credentials the exporters send, which no line on standard error may show.
    pub(crate) fn credentials(&self) -> Vec<&str> {
        let traces = self.traces.iter().flat_map(TraceBackend::credentials);
        let profiles = self.profiles.iter().flat_map(ProfileBackend::credentials);
        let metrics = self.metrics.iter().flat_map(MetricBackend::credentials);
        traces.chain(profiles).chain(metrics).chain(self.logs.iter().flat_map(LogBackend::credentials)).collect()
    }
}

/// The lanes the backends ask for, ready to start on the reporter thread.
pub(crate) struct Launches {
    pub spans: Vec<Launch<Batch>>,
    pub profiles: Vec<Launch<ProfileWindow>>,
    pub metrics: Vec<Launch<Snapshot>>,
    pub logs: Vec<Launch<logs::LogBatch>>,
}

/// The lanes of `backends`. Outputs that can be opened now (files) are, so that an error stops
/// `init`.
fn launches(settings: &Settings, backends: &Backends) -> Result<Launches, InitError> {
    let resource = Arc::new(Resource::new(settings));
    let spans = backends
        .traces
        .iter()
        .map(|backend| -> Result<Launch<Batch>, InitError> {
            let resource = Arc::clone(&resource);
            Ok(match backend.clone() {
                TraceBackend::File => {
                    // Traces keep 5/16 of the folder's budget (logs 2/16, metrics 1/16, profiles
                    // half).
                    let exporter =
                        traces::file::TraceFile::open(&settings.out_dir, resource, settings.out_max_bytes / 16 * 5)?;
                    lane::launch(move || exporter)
                }
                TraceBackend::Console => {
                    let service = settings.service_name.clone();
                    lane::launch(move || traces::console::ConsoleExporter::new(std::io::stdout(), service))
                }
                TraceBackend::Otlp(otlp) => lane::launch(move || traces::otlp::OtlpExporter::new(otlp, &resource)),
                TraceBackend::Skywalking(skywalking) => {
                    lane::launch(move || traces::skywalking::SkywalkingExporter::new(skywalking, &resource))
                }
                TraceBackend::Datadog(datadog) => {
                    let timeout = settings.export_timeout;
                    lane::launch(move || traces::datadog::DatadogExporter::new(datadog, &resource, timeout))
                }
                #[cfg(feature = "testing")]
                TraceBackend::Memory(memory) => {
                    let lane = memory.lane();
                    lane::launch(move || lane)
                }
            })
        })
        .collect::<Result<_, _>>()?;
    // Profile files are written on the profiler's collector thread (see `profiles::sinks`);
    // only network backends get a lane, and only while the profiler runs.
    let profiler = &settings.profiler;
    let profiles = backends
        .profiles
        .iter()
        .filter(|_| profiler.enabled)
        .filter_map(|backend| match backend.clone() {
            ProfileBackend::Pyroscope(pyroscope) => {
                let (service, hz) = (settings.service_name.clone(), profiler.hz);
                Some(lane::launch(move || profiles::pyroscope::PyroscopeExporter::new(*pyroscope, service, hz)))
            }
            ProfileBackend::Files => None,
        })
        .collect();
    let metrics = backends
        .metrics
        .iter()
        .filter_map(|backend| backend.launch(settings, &resource).transpose())
        .collect::<Result<_, _>>()?;
    let logs = backends
        .logs
        .iter()
        .filter_map(|backend| backend.launch(settings, &resource).transpose())
        .collect::<Result<_, _>>()?;
    Ok(Launches { spans, profiles, metrics, logs })
}

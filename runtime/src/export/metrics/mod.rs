//! Metrics exporters: the lanes each collection's [`Snapshot`] goes to, one module per backend
//! (`file`: `local`, `console`, `otlp`, `datadog`, `skywalking`), the OTLP/JSON mapping (`json`),
//! and the Prometheus pull endpoint (`prometheus`), which takes its own collections when scraped.
//!
//! The reporter takes a periodic collection every `OTEL_METRIC_EXPORT_INTERVAL` (and at flush
//! and shutdown) and hands the same snapshot to every metrics lane. Snapshots are cumulative,
//! so a lane keeps only the newest waiting one: a newer snapshot replaces one not yet sent
//! (counted in `metric_snapshots_superseded`, not as a drop). Every export, local ones
//! included, is bounded by `OTEL_METRIC_EXPORT_TIMEOUT`, as OpenTelemetry's periodic reader
//! bounds each of its exports.

mod console;
mod datadog;
mod file;
pub(crate) mod json;
pub(crate) mod otlp;
pub(crate) mod prometheus;
mod skywalking;
pub(crate) mod temporality;

use std::sync::Arc;

use crate::config::env::Vars;
use crate::config::{ConfigError, MetricsExporter, Settings};
use crate::error::InitError;
use crate::export::lane::{self, Launch};
use crate::export::resource::Resource;
use crate::export::traces::skywalking::SkywalkingSettings;
use crate::export::Load;
use crate::metrics::collect::Collection;
use crate::metrics::snapshot::Snapshot;
use crate::stats::{self, Counter, Signal};

/// A configured metrics backend.
#[derive(Debug, Clone)]
pub(crate) enum MetricBackend {
    /// `metrics.jsonl` in the output folder.
    File,
    Console,
    Otlp(otlp::OtlpMetricSettings),
    /// The pull endpoint: not a lane (scrapes take their own collections, see [`endpoints`]).
    Prometheus(prometheus::PrometheusSettings),
    Datadog(datadog::DogStatsdSettings),
    /// The trace exporter's OAP settings.
    Skywalking(SkywalkingSettings),
}

impl MetricBackend {
    /// The backends of the settings' metrics exporters, in their order; each reads its own
    /// variables, only when configured.
    pub(crate) fn resolve_all(settings: &Settings, vars: &Vars<'_>) -> Result<Vec<Self>, ConfigError> {
        settings
            .metrics
            .exporters
            .iter()
            .map(|exporter| {
                Ok(match exporter {
                    MetricsExporter::Local => Self::File,
                    MetricsExporter::Console => Self::Console,
                    MetricsExporter::Otlp => Self::Otlp(otlp::OtlpMetricSettings::resolve(vars)?),
                    MetricsExporter::Prometheus => Self::Prometheus(prometheus::PrometheusSettings::resolve(vars)?),
                    MetricsExporter::Datadog => Self::Datadog(datadog::DogStatsdSettings::resolve(vars)?),
                    MetricsExporter::Skywalking => Self::Skywalking(SkywalkingSettings::resolve(vars)?),
                })
            })
            .collect()
    }

    /// The credentials it sends, which no line on standard error may show.
    pub(crate) fn credentials(&self) -> Vec<&str> {
        match self {
            Self::Otlp(settings) => settings.otlp.credentials(),
            Self::Skywalking(settings) => settings.authentication.as_deref().into_iter().collect(),
            Self::File | Self::Console | Self::Prometheus(_) | Self::Datadog(_) => Vec::new(),
        }
    }

    /// Its lane, if it has one. Outputs that can be opened now (files) are, so that an error
    /// stops `init`.
    pub(crate) fn launch(
        &self,
        settings: &Settings,
        resource: &Arc<Resource>,
    ) -> Result<Option<Launch<Snapshot>>, InitError> {
        Ok(Some(match self {
            Self::File => {
                // Metrics keep a sixteenth of the folder's budget (traces 5/16, logs 2/16, profiles half):
                // one line per interval is small beside a busy service's spans.
                let exporter = file::MetricsFile::open(
                    &settings.out_dir,
                    Arc::clone(resource),
                    settings.out_max_bytes / 16,
                    settings.metrics.timeout,
                )?;
                lane::launch(move || exporter)
            }
            Self::Console => {
                let (interval, timeout) = (settings.metrics.interval, settings.metrics.timeout);
                lane::launch(move || console::MetricsConsole::new(std::io::stdout(), interval, timeout))
            }
            Self::Otlp(settings) => {
                let (settings, resource) = (settings.clone(), Arc::clone(resource));
                lane::launch(move || otlp::OtlpMetricExporter::new(settings, resource))
            }
            Self::Datadog(agent) => {
                let (agent, resource, timeout) = (agent.clone(), Arc::clone(resource), settings.metrics.timeout);
                lane::launch(move || datadog::DogStatsdExporter::new(agent, &resource, timeout))
            }
            Self::Skywalking(oap) => {
                let (oap, resource, timeout) = (oap.clone(), Arc::clone(resource), settings.metrics.timeout);
                lane::launch(move || skywalking::SkywalkingMeterExporter::new(oap, resource, timeout))
            }
            Self::Prometheus(_) => return Ok(None),
        }))
    }
}

/// Starts the pull endpoints among `backends`, each listening on its address (a port in use
/// stops `init`); they serve until dropped. When no backend pushes, scrapes also start each new
/// exemplar interval.
pub(crate) fn endpoints(
    backends: &[MetricBackend],
    resource: &Arc<Resource>,
) -> Result<Vec<prometheus::Server>, InitError> {
    let pushed = backends.iter().any(|backend| !matches!(backend, MetricBackend::Prometheus(_)));
    let mut servers = Vec::new();
    for backend in backends {
        if let MetricBackend::Prometheus(settings) = backend {
            let endpoint = prometheus::Endpoint::bind(settings)?;
            let address = endpoint.address().map_err(|error| prometheus::listen_error(settings, error))?;
            if settings.port == 0 {
                stderr_line!("spanscope: Prometheus endpoint at http://{address}/metrics");
            }
            let collection = if pushed { Collection::Scrape } else { Collection::Periodic };
            servers.push(
                endpoint
                    .serve(Arc::clone(resource), collection)
                    .map_err(|error| prometheus::listen_error(settings, error))?,
            );
        }
    }
    Ok(servers)
}

impl Load for Snapshot {
    const SIGNAL: Signal = Signal::Metrics;
    const SUPERSEDED_BY_NEWER: bool = true;

    /// Its points: one per series.
    fn units(&self) -> u64 {
        self.metrics.iter().map(|metric| metric.points.len() as u64).sum()
    }

    fn count_superseded(&self) {
        stats::add(Counter::MetricSnapshotsSuperseded, 1);
    }
}

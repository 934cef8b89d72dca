//! Configuration: what the application asks for, overridden by what the operator sets in the
//! environment.
//!
//! Environment variables win over [`Config`] values (and so over macro arguments), which win
//! over defaults, so a built binary can be re-pointed without a rebuild. Standard names are
//! used where they exist (`OTEL_*`); `SPANSCOPE_*` covers the rest. A value that does not
//! parse, lies beyond its variable's bounds or is not UTF-8 is an error naming the variable,
//! never a silent fallback ([`env`](mod@env) reads them all). A value given in code is brought
//! within the same bounds.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

#[cfg(feature = "testing")]
mod code_exporter;
pub(crate) mod env;
// Used by the record path, which only the `log` and `tracing` bridges call.
#[cfg_attr(not(any(feature = "log", feature = "tracing")), allow(dead_code))]
pub(crate) mod log_filter;
pub(crate) mod log_level;
pub(crate) mod logs;
pub(crate) mod metrics;
pub(crate) mod profiler;
mod propagator;
pub(crate) mod sampler;

#[cfg(feature = "testing")]
pub(crate) use code_exporter::sealed;
#[cfg(feature = "testing")]
pub use code_exporter::CodeExporter;
#[cfg(feature = "testing")]
use code_exporter::CodeExporters;
pub use logs::LogsExporter;
pub use metrics::MetricsExporter;
pub use propagator::Propagator;
pub use sampler::Sampler;

use env::{
    parse_bool, parse_choice, parse_count, parse_folder, parse_list, parse_millis, parse_pairs, parse_timeout,
    PairText, SetVar, Vars, MAX_COUNT, MAX_SECONDS, OTEL_MAX_MILLIS,
};

/// Where finished traces go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TracesExporter {
    /// One line of OTLP/JSON per batch in `traces.jsonl` under the output folder (the default).
    Local,
    /// Each trace printed to standard output as an indented tree with durations.
    Console,
    /// OTLP to an OpenTelemetry Collector or any OTLP backend, over gRPC or HTTP
    /// (`OTEL_EXPORTER_OTLP_*`).
    Otlp,
    /// SkyWalking's native gRPC protocol to an OAP (`SW_AGENT_*`).
    Skywalking,
    /// The Datadog agent's msgpack trace intake (`DD_TRACE_AGENT_URL`, `DD_AGENT_HOST`, ...).
    Datadog,
}

/// What to set up. Every field left unset takes its environment variable, then its default.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct Config {
    service_name: Option<String>,
    disabled: Option<bool>,
    sampler: Option<Sampler>,
    exporters: Option<Vec<TracesExporter>>,
    out_dir: Option<PathBuf>,
    out_max_mb: Option<usize>,
    max_queue_size: Option<usize>,
    schedule_delay: Option<Duration>,
    max_export_batch_size: Option<usize>,
    shutdown_timeout: Option<Duration>,
    max_spans_per_segment: Option<u32>,
    resource: Vec<(String, String)>,
    propagators: Option<Vec<Propagator>>,
    vars: Vec<(String, String)>,
    profiler: profiler::ProfilerConfig,
    metrics: metrics::MetricsConfig,
    logs: logs::LogsConfig,
    #[cfg(feature = "testing")]
    code_exporters: CodeExporters,
}

impl Config {
    /// Nothing set: everything from the environment or the defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// The service name (`OTEL_SERVICE_NAME` wins; default `unknown_service:<executable>`).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// Turns every span into a no-op (`OTEL_SDK_DISABLED`, `true` or `false`, wins).
    pub fn disabled(mut self, disabled: bool) -> Self {
        self.disabled = Some(disabled);
        self
    }

    /// The CPU profiler's settings (its `SPANSCOPE_PROFILE*` and `PYROSCOPE_*` variables win).
    pub fn profiler(mut self, profiler: profiler::ProfilerConfig) -> Self {
        self.profiler = profiler;
        self
    }

    /// The head sampler (`OTEL_TRACES_SAMPLER`/`_ARG` win; default parent-based always-on).
    pub fn sampler(mut self, sampler: Sampler) -> Self {
        self.sampler = Some(sampler);
        self
    }

    /// Adds `exporter` beside the exporters the environment and [`exporters`](Self::exporters)
    /// select (feature `testing`): `spanscope::testing::InMemoryExporter`, whose clone the test
    /// keeps to read the spans.
    #[cfg(feature = "testing")]
    pub fn exporter(mut self, exporter: impl CodeExporter) -> Self {
        self.code_exporters.0.push(std::sync::Arc::new(exporter));
        self
    }

    /// The exporters (`OTEL_TRACES_EXPORTER` wins; default `local`). Empty means none.
    pub fn exporters(mut self, exporters: impl IntoIterator<Item = TracesExporter>) -> Self {
        self.exporters = Some(exporters.into_iter().collect());
        self
    }

    /// Where metrics go (`OTEL_METRICS_EXPORTER` wins; default `local`). Empty means none: the
    /// instruments then keep nothing (a recording costs one check).
    pub fn metrics_exporters(mut self, exporters: impl IntoIterator<Item = MetricsExporter>) -> Self {
        self.metrics.exporters = Some(exporters.into_iter().collect());
        self
    }

    /// Where log records go (`OTEL_LOGS_EXPORTER` wins; default `local`). Empty means none: the
    /// `log` and `tracing` bridges then keep nothing (a record costs one check).
    pub fn logs_exporters(mut self, exporters: impl IntoIterator<Item = LogsExporter>) -> Self {
        self.logs.exporters = Some(exporters.into_iter().collect());
        self
    }

    /// Which log records are kept, by level and target, in `RUST_LOG`'s directive syntax
    /// (`SPANSCOPE_LOGS_FILTER` wins; default `info`): `warn,my_app=debug,hyper=off`.
    pub fn logs_filter(mut self, filter: impl Into<String>) -> Self {
        self.logs.filter = Some(filter.into());
        self
    }

    /// The time between the starts of two collections of the metrics, from 100 ms to 2³¹ − 1 ms
    /// (`OTEL_METRIC_EXPORT_INTERVAL`, in ms, wins; default 60 s).
    pub fn metric_export_interval(mut self, interval: Duration) -> Self {
        self.metrics.interval = Some(interval);
        self
    }

    /// The attribute sets each instrument keeps, 1 to 65536; recordings of further sets go to
    /// its `otel.metric.overflow=true` series (`SPANSCOPE_METRICS_CARDINALITY_LIMIT` wins;
    /// default 2000).
    pub fn metrics_cardinality_limit(mut self, limit: usize) -> Self {
        self.metrics.cardinality_limit = Some(limit);
        self
    }

    /// The folder of the local exporters (`SPANSCOPE_OUT_DIR` wins; default `./spanscope-out`). A
    /// path over 4000 bytes, or with a name in it over 255, is refused: no file could be
    /// written there.
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// The most the local exporters keep in their folder, in MB, 1 to 16777216 (16 TiB)
    /// (`SPANSCOPE_OUT_MAX_MB` wins; default 1024): 5/16 for traces, 2/16 for logs, 1/16 for metrics, half for
    /// the profiles this process writes. Past it the oldest are deleted, so that a service left on the default
    /// exporter does not fill its disk. (Profiles left by earlier processes in the folder are
    /// not counted or deleted.)
    pub fn out_max_mb(mut self, megabytes: usize) -> Self {
        self.out_max_mb = Some(megabytes);
        self
    }

    /// Segments that may wait for export before new ones are dropped, 1 to 16777216
    /// (`OTEL_BSP_MAX_QUEUE_SIZE` wins; default 2048).
    pub fn max_queue_size(mut self, size: usize) -> Self {
        self.max_queue_size = Some(size);
        self
    }

    /// The longest a finished segment waits before export, at most 2³¹ − 1 ms (about 24.8
    /// days) (`OTEL_BSP_SCHEDULE_DELAY`, in ms, wins; default 5 s; 0: at once).
    pub fn schedule_delay(mut self, delay: Duration) -> Self {
        self.schedule_delay = Some(delay);
        self
    }

    /// Spans sent in one export request at most, a segment never being split, 1 to 16777216
    /// and no more than the queue size (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE` wins; default 512).
    pub fn max_export_batch_size(mut self, size: usize) -> Self {
        self.max_export_batch_size = Some(size);
        self
    }

    /// How long shutdown and [`flush`](crate::flush) wait for the exporters, at most an hour
    /// (`SPANSCOPE_SHUTDOWN_TIMEOUT`, in ms from 1 to 3600000, wins; default 5 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = Some(timeout);
        self
    }

    /// Spans one segment records at most, 1 to 16777216; more are counted and dropped
    /// (`SPANSCOPE_MAX_SPANS_PER_SEGMENT` wins; default 1000).
    pub fn max_spans_per_segment(mut self, max: u32) -> Self {
        self.max_spans_per_segment = Some(max);
        self
    }

    /// The propagation formats, in extraction order (`OTEL_PROPAGATORS` wins). Empty means none.
    ///
    /// The default is W3C's `tracecontext,baggage`, followed by the formats of the backends
    /// that trace exporters report to: `sw8` with `skywalking`, `datadog` with `datadog`
    /// (their agents in other services speak those). In a fleet that mixes in SkyWalking or
    /// Datadog agents while this service reports elsewhere, list their format here.
    pub fn propagators(mut self, propagators: impl IntoIterator<Item = Propagator>) -> Self {
        self.propagators = Some(propagators.into_iter().collect());
        self
    }

    /// Adds a resource attribute (`OTEL_RESOURCE_ATTRIBUTES` entries win for the same key).
    pub fn resource_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.resource.push((key.into(), value.into()));
        self
    }

    /// A default for the environment variable `name`, for settings that have no method of their
    /// own (a backend's endpoint, headers, timeouts...): the environment still wins. It is read as
    /// the variable would be, bounds and errors included.
    pub fn var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.push((name.into(), value.into()));
        self
    }

    /// The defaults given with [`Config::var`], taken out to read every variable with them.
    pub(crate) fn take_var_defaults(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.vars)
    }

    /// The effective settings: `vars` (the environment over the defaults given with
    /// [`Config::var`]), then this config, then defaults. Each backend's own settings are read
    /// by its module (see `export`).
    pub(crate) fn resolve(self, vars: &Vars<'_>) -> Result<Settings, ConfigError> {
        let disabled = vars.read("OTEL_SDK_DISABLED", parse_bool)?.or(self.disabled).unwrap_or(false);
        let mut resource = self.resource;
        let attributes = vars.read("OTEL_RESOURCE_ATTRIBUTES", |var| parse_pairs(var, PairText::PercentEncoded))?;
        for (key, value) in attributes.unwrap_or_default() {
            resource.retain(|(k, _)| *k != key);
            resource.push((key, value));
        }
        // Datadog's unified service tags map onto their OpenTelemetry resource attributes.
        for (dd, key) in [("DD_ENV", "deployment.environment.name"), ("DD_VERSION", "service.version")] {
            if let Some((_, value)) = vars.get(dd)? {
                if !resource.iter().any(|(k, _)| k == key) {
                    resource.push((key.to_owned(), value));
                }
            }
        }
        let service_name = match vars.first(&["OTEL_SERVICE_NAME", "DD_SERVICE"])? {
            Some((_, name)) => name,
            None => self
                .service_name
                .or_else(|| resource.iter().find(|(k, _)| k == "service.name").map(|(_, v)| v.clone()))
                .unwrap_or_else(default_service_name),
        };
        resource.retain(|(k, _)| k != "service.name");
        let sampler = match vars.get("OTEL_TRACES_SAMPLER")? {
            Some(var) => parse_sampler(&var, vars.get("OTEL_TRACES_SAMPLER_ARG")?)?,
            None => self.sampler.unwrap_or_default(),
        };
        let exporters = vars
            .read("OTEL_TRACES_EXPORTER", |var| parse_list(var, TRACES_EXPORTERS))?
            .or(self.exporters)
            .unwrap_or_else(|| vec![TracesExporter::Local]);
        let out_dir = vars
            .read("SPANSCOPE_OUT_DIR", parse_folder)?
            .or(self.out_dir)
            .unwrap_or_else(|| PathBuf::from("spanscope-out"));
        let out_max_mb = count(vars, "SPANSCOPE_OUT_MAX_MB", self.out_max_mb, 1024)?;
        let max_queue_size = count(vars, "OTEL_BSP_MAX_QUEUE_SIZE", self.max_queue_size, 2048)?;
        // OpenTelemetry's rule: a batch is never larger than the queue.
        let max_export_batch_size =
            count(vars, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", self.max_export_batch_size, 512)?.min(max_queue_size);
        let schedule_delay = vars.read("OTEL_BSP_SCHEDULE_DELAY", |var| parse_millis(var, 0..=OTEL_MAX_MILLIS))?;
        let schedule_delay = schedule_delay.unwrap_or_else(|| {
            self.schedule_delay.unwrap_or(Duration::from_secs(5)).min(Duration::from_millis(OTEL_MAX_MILLIS))
        });
        // 0 is refused: to OpenTelemetry's users a timeout of 0 means no limit, to others no wait.
        let shutdown_timeout =
            vars.read("SPANSCOPE_SHUTDOWN_TIMEOUT", |var| parse_millis(var, 1..=MAX_SECONDS * 1000))?;
        let shutdown_timeout = shutdown_timeout.unwrap_or_else(|| {
            self.shutdown_timeout.unwrap_or(Duration::from_secs(5)).min(Duration::from_secs(MAX_SECONDS))
        });
        let propagator_names = Propagator::ALL.map(|p| (p.name(), p));
        let propagators = vars
            .read("OTEL_PROPAGATORS", |var| parse_list(var, &propagator_names))?
            .or(self.propagators)
            .unwrap_or_else(|| default_propagators(&exporters));
        let hostname = hostname();
        let service_instance = match vars.get("SW_AGENT_INSTANCE_NAME")? {
            Some((_, name)) => name,
            None => format!("{}@{hostname}", crate::id::TraceId::random()),
        };
        let export_timeout = vars.read("OTEL_BSP_EXPORT_TIMEOUT", parse_timeout)?.unwrap_or(Duration::from_secs(30));
        let export_backlog = count(vars, "SPANSCOPE_EXPORT_BACKLOG", None, 65_536)?;
        // Below the first retry's pause (100 ms), a failing backend would be retried in a tight loop.
        let max_backoff = vars
            .read("SPANSCOPE_EXPORT_MAX_BACKOFF", |var| parse_millis(var, 100..=MAX_SECONDS * 1000))?
            .unwrap_or(Duration::from_secs(5));
        let profiler = self.profiler.resolve(vars)?;
        let metrics = self.metrics.resolve(vars)?;
        let logs = self.logs.resolve(vars)?;
        let max_spans =
            count(vars, "SPANSCOPE_MAX_SPANS_PER_SEGMENT", self.max_spans_per_segment.map(|m| m as usize), 1000)?;
        Ok(Settings {
            service_name,
            disabled,
            sampler,
            exporters,
            out_dir,
            out_max_bytes: out_max_mb as u64 * MB,
            max_queue_size,
            schedule_delay,
            max_export_batch_size,
            shutdown_timeout,
            max_spans_per_segment: u32::try_from(max_spans).unwrap_or(u32::MAX),
            resource,
            propagators,
            service_instance,
            hostname,
            export_timeout,
            export_backlog,
            max_backoff,
            profiler,
            metrics,
            logs,
            #[cfg(feature = "testing")]
            code_exporters: self.code_exporters,
        })
    }
}

/// A count read from `name` (1 to [`MAX_COUNT`]), else the configured one brought within those
/// bounds, else `default`.
fn count(vars: &Vars<'_>, name: &'static str, configured: Option<usize>, default: usize) -> Result<usize, ConfigError> {
    let read = vars.read(name, |var| parse_count(var, 1..=MAX_COUNT))?;
    Ok(read.unwrap_or_else(|| configured.unwrap_or(default).clamp(1, MAX_COUNT)))
}

/// The names of `OTEL_TRACES_EXPORTER`.
const TRACES_EXPORTERS: &[(&str, TracesExporter)] = &[
    ("local", TracesExporter::Local),
    ("console", TracesExporter::Console),
    ("otlp", TracesExporter::Otlp),
    ("skywalking", TracesExporter::Skywalking),
    ("datadog", TracesExporter::Datadog),
];

/// A megabyte, as `SPANSCOPE_OUT_MAX_MB` counts them.
const MB: u64 = 1 << 20;

/// Resolved settings.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub service_name: String,
    pub disabled: bool,
    pub sampler: Sampler,
    pub exporters: Vec<TracesExporter>,
    pub out_dir: PathBuf,
    /// The most the local exporters keep in `out_dir`, in bytes.
    pub out_max_bytes: u64,
    pub max_queue_size: usize,
    pub schedule_delay: Duration,
    pub max_export_batch_size: usize,
    pub shutdown_timeout: Duration,
    pub max_spans_per_segment: u32,
    /// Extra resource attributes (`service.name` excluded: it is `service_name`).
    pub resource: Vec<(String, String)>,
    /// The propagation formats, in extraction order.
    pub propagators: Vec<Propagator>,
    /// This process's name among the service's instances (`SW_AGENT_INSTANCE_NAME`; default
    /// like the Java agent's `<uuid>@<hostname>`); also the OpenTelemetry `service.instance.id`.
    pub service_instance: String,
    /// The machine's host name.
    pub hostname: String,
    /// The longest one export attempt may take, for backends without a timeout of their own.
    pub export_timeout: Duration,
    /// Spans each exporter keeps for retry while its backend is unavailable.
    pub export_backlog: usize,
    /// The longest wait between two attempts to reach an unavailable backend.
    pub max_backoff: Duration,
    /// The CPU profiler's.
    pub profiler: profiler::ProfilerSettings,
    /// The metrics'.
    pub metrics: metrics::MetricsSettings,
    /// The logs'.
    pub logs: logs::LogsSettings,
    /// The exporters given in code.
    #[cfg(feature = "testing")]
    pub code_exporters: CodeExporters,
}

/// A configuration value that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    variable: &'static str,
    /// `None` when the value may hold a secret and must not be shown.
    value: Option<String>,
    expected: String,
}

impl ConfigError {
    /// An error showing `value`, with any URL user information in it hidden
    /// ([`without_userinfo`]).
    pub(crate) fn new(variable: &'static str, value: &str, expected: impl Into<String>) -> Self {
        Self { variable, value: Some(without_userinfo(value)), expected: expected.into() }
    }

    /// An error about a value that may hold credentials (headers, URLs with user information):
    /// it names the variable and what was expected, never the value.
    pub(crate) fn secret(variable: &'static str, expected: impl Into<String>) -> Self {
        Self { variable, value: None, expected: expected.into() }
    }

    /// The environment variable that holds the bad value.
    pub fn variable(&self) -> &'static str {
        self.variable
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(value) => write!(f, "invalid {}={value:?}: expected {}", self.variable, self.expected),
            None => write!(
                f,
                "invalid {} (value not shown: it may hold credentials): expected {}",
                self.variable, self.expected
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

/// `value` with everything from just after its first `://` (or its start) to its last `@`
/// replaced by `<redacted>`: a URL's `user:password@`, found by the URL's shape rather than by
/// known secrets, since a configuration error is shown before any secret is registered. The
/// span is wide on purpose, so that a password holding `/`, `#`, `,` or `://` (the mistakes that
/// make a URL unparseable) is hidden whole; a non-URL value with an `@` loses a little detail.
fn without_userinfo(value: &str) -> String {
    let Some(at) = value.rfind('@') else { return value.to_owned() };
    let start = value[..at].find("://").map_or(0, |scheme| scheme + 3);
    format!("{}{}{}", &value[..start], crate::stderr::REDACTED, &value[at..])
}

/// A ratio from 0 to 1 (`NaN` is refused); 1 when unset.
fn parse_ratio(arg: Option<SetVar>) -> Result<f64, ConfigError> {
    let Some((name, value)) = arg else { return Ok(1.0) };
    match value.trim().parse::<f64>() {
        Ok(ratio) if (0.0..=1.0).contains(&ratio) => Ok(ratio),
        _ => Err(ConfigError::new(name, &value, "a number from 0 to 1")),
    }
}

/// `OTEL_TRACES_SAMPLER`; the ratio samplers take theirs from `arg` (`OTEL_TRACES_SAMPLER_ARG`),
/// which the others ignore.
fn parse_sampler(var: &SetVar, arg: Option<SetVar>) -> Result<Sampler, ConfigError> {
    let sampler = parse_choice(
        var,
        &[
            ("always_on", Sampler::AlwaysOn),
            ("always_off", Sampler::AlwaysOff),
            ("traceidratio", Sampler::TraceIdRatio(1.0)),
            ("parentbased_always_on", Sampler::ParentBasedAlwaysOn),
            ("parentbased_traceidratio", Sampler::ParentBasedTraceIdRatio(1.0)),
        ],
    )?;
    Ok(match sampler {
        Sampler::TraceIdRatio(_) => Sampler::TraceIdRatio(parse_ratio(arg)?),
        Sampler::ParentBasedTraceIdRatio(_) => Sampler::ParentBasedTraceIdRatio(parse_ratio(arg)?),
        fixed => fixed,
    })
}

/// The kernel's host name; `HOSTNAME`, then `localhost`, where it cannot be read.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// W3C's formats, then each native format a configured backend's own agents speak.
fn default_propagators(exporters: &[TracesExporter]) -> Vec<Propagator> {
    let mut propagators = Propagator::DEFAULT.to_vec();
    for (exporter, format) in
        [(TracesExporter::Skywalking, Propagator::Sw8), (TracesExporter::Datadog, Propagator::Datadog)]
    {
        if exporters.contains(&exporter) {
            propagators.push(format);
        }
    }
    propagators
}

fn default_service_name() -> String {
    let exe = std::env::current_exe().ok();
    let name = exe.as_deref().and_then(|p| p.file_stem()).and_then(|s| s.to_str()).unwrap_or("rust");
    format!("unknown_service:{name}")
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::*;

    fn resolve(mut config: Config, vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let environment = |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| OsString::from(v));
        let defaults = config.take_var_defaults();
        config.resolve(&Vars::new(&environment, defaults))
    }

    #[test]
    fn environment_wins_over_config_over_defaults() {
        let s = resolve(Config::new(), &[]).unwrap();
        assert!(s.service_name.starts_with("unknown_service:"));
        assert_eq!(s.sampler, Sampler::ParentBasedAlwaysOn);
        assert_eq!(s.exporters, vec![TracesExporter::Local]);
        assert_eq!(s.out_dir, PathBuf::from("spanscope-out"));
        assert_eq!(s.out_max_bytes, 1 << 30);
        let s = resolve(Config::new().out_max_mb(8), &[]).unwrap();
        assert_eq!(s.out_max_bytes, 8 << 20);
        let s = resolve(Config::new().out_max_mb(8), &[("SPANSCOPE_OUT_MAX_MB", "64")]).unwrap();
        assert_eq!(s.out_max_bytes, 64 << 20);
        let s = resolve(Config::new(), &[("SPANSCOPE_OUT_MAX_MB", "16777216")]).unwrap();
        assert_eq!(s.out_max_bytes, 1 << 44);
        let s = resolve(Config::new().service_name("checkout"), &[]).unwrap();
        assert_eq!(s.service_name, "checkout");
        let s = resolve(Config::new().service_name("checkout"), &[("OTEL_SERVICE_NAME", "orders")]).unwrap();
        assert_eq!(s.service_name, "orders");
        let s = resolve(
            Config::new(),
            &[("OTEL_RESOURCE_ATTRIBUTES", "service.name=inv%20entory, deployment.environment=prod")],
        )
        .unwrap();
        assert_eq!(s.service_name, "inv entory");
        assert_eq!(s.resource, vec![("deployment.environment".to_owned(), "prod".to_owned())]);
    }

    #[test]
    fn samplers_and_exporters_parse() {
        let s = resolve(
            Config::new(),
            &[("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "0.25")],
        )
        .unwrap();
        assert_eq!(s.sampler, Sampler::ParentBasedTraceIdRatio(0.25));
        let s = resolve(Config::new(), &[("OTEL_TRACES_EXPORTER", "console, local,none")]).unwrap();
        assert_eq!(s.exporters, vec![TracesExporter::Console, TracesExporter::Local]);
        let s = resolve(Config::new(), &[("OTEL_TRACES_EXPORTER", "none")]).unwrap();
        assert!(s.exporters.is_empty());
        assert_eq!(resolve(Config::new(), &[]).unwrap().propagators, Propagator::DEFAULT);
        let s = resolve(Config::new(), &[("OTEL_TRACES_EXPORTER", "local,datadog,skywalking")]).unwrap();
        use Propagator::{Baggage, Datadog, Sw8, TraceContext};
        assert_eq!(s.propagators, [TraceContext, Baggage, Sw8, Datadog]);
        let s = resolve(Config::new().propagators([Sw8]), &[("OTEL_TRACES_EXPORTER", "datadog")]).unwrap();
        assert_eq!(s.propagators, [Sw8], "a configured list is taken as it is");
        let s = resolve(Config::new(), &[("OTEL_PROPAGATORS", "b3multi, datadog,b3multi")]).unwrap();
        assert_eq!(s.propagators, [Propagator::B3Multi, Propagator::Datadog]);
        assert!(resolve(Config::new(), &[("OTEL_PROPAGATORS", "none")]).unwrap().propagators.is_empty());
        let s = resolve(Config::new(), &[("SW_AGENT_INSTANCE_NAME", "pod-7")]).unwrap();
        assert_eq!(s.service_instance, "pod-7");
        let s = resolve(Config::new(), &[]).unwrap();
        assert!(s.service_instance.ends_with(&format!("@{}", s.hostname)), "{}", s.service_instance);
    }

    #[test]
    fn config_vars_are_defaults_the_environment_overrides() {
        let config = Config::new().var("OTEL_SERVICE_NAME", "from-code").var("SPANSCOPE_EXPORT_BACKLOG", "10");
        let s = resolve(config.clone(), &[]).unwrap();
        assert_eq!((s.service_name.as_str(), s.export_backlog), ("from-code", 10));
        let s = resolve(config, &[("OTEL_SERVICE_NAME", "from-env")]).unwrap();
        assert_eq!(s.service_name, "from-env");
        let err = resolve(Config::new().var("SPANSCOPE_EXPORT_MAX_BACKOFF", "soon"), &[]).unwrap_err();
        assert_eq!(err.variable(), "SPANSCOPE_EXPORT_MAX_BACKOFF");
    }

    #[test]
    fn datadog_unified_service_tags_map_to_the_resource() {
        let dd = [("DD_SERVICE", "cart"), ("DD_ENV", "prod"), ("DD_VERSION", "1.4")];
        let s = resolve(Config::new(), &dd).unwrap();
        assert_eq!(s.service_name, "cart");
        assert!(s.resource.contains(&("deployment.environment.name".to_owned(), "prod".to_owned())));
        assert!(s.resource.contains(&("service.version".to_owned(), "1.4".to_owned())));
        let s = resolve(
            Config::new(),
            &[
                dd[0],
                dd[1],
                ("OTEL_SERVICE_NAME", "checkout"),
                ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=qa"),
            ],
        )
        .unwrap();
        assert_eq!(s.service_name, "checkout");
        assert_eq!(s.resource, vec![("deployment.environment.name".to_owned(), "qa".to_owned())]);
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [
            ("OTEL_SDK_DISABLED", "yes"),
            ("OTEL_TRACES_SAMPLER", "sometimes"),
            ("OTEL_TRACES_EXPORTER", "local,zipkin"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "0"),
            ("OTEL_BSP_SCHEDULE_DELAY", "5s"),
            ("SPANSCOPE_SHUTDOWN_TIMEOUT", "-1"),
            ("OTEL_RESOURCE_ATTRIBUTES", "novalue"),
            ("OTEL_PROPAGATORS", "tracecontext,xray"),
            ("SPANSCOPE_OUT_MAX_MB", "1.5G"),
        ] {
            let err = resolve(Config::new(), &[(var, value)]).unwrap_err();
            assert_eq!(err.variable(), var);
            assert!(err.to_string().contains(var) && err.to_string().contains(value), "{err}");
        }
        let err =
            resolve(Config::new(), &[("OTEL_TRACES_SAMPLER", "traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "1.5")])
                .unwrap_err();
        assert_eq!(err.variable(), "OTEL_TRACES_SAMPLER_ARG");
    }

    #[test]
    fn values_beyond_their_bounds_name_their_variable() {
        for (var, value) in [
            ("OTEL_BSP_SCHEDULE_DELAY", "2147483648"),
            ("OTEL_BSP_SCHEDULE_DELAY", "18446744073709551615"),
            ("OTEL_BSP_EXPORT_TIMEOUT", "400000000000000"),
            ("SPANSCOPE_SHUTDOWN_TIMEOUT", "0"),
            ("SPANSCOPE_SHUTDOWN_TIMEOUT", "3600001"),
            ("SPANSCOPE_EXPORT_MAX_BACKOFF", "0"),
            ("SPANSCOPE_EXPORT_MAX_BACKOFF", "99"),
            ("SPANSCOPE_EXPORT_MAX_BACKOFF", "3600001"),
            ("SPANSCOPE_EXPORT_BACKLOG", "0"),
            ("SPANSCOPE_EXPORT_BACKLOG", "16777217"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "16777217"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "0"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "18446744073709551616"),
            ("SPANSCOPE_MAX_SPANS_PER_SEGMENT", "0"),
            ("SPANSCOPE_MAX_SPANS_PER_SEGMENT", "4294967296"),
            ("SPANSCOPE_OUT_MAX_MB", "0"),
            ("SPANSCOPE_OUT_MAX_MB", "18446744073709551615"),
            ("OTEL_TRACES_EXPORTER", ","),
            ("OTEL_PROPAGATORS", " , "),
            ("OTEL_SDK_DISABLED", "on"),
        ] {
            let err = resolve(Config::new(), &[(var, value)]).unwrap_err();
            assert_eq!(err.variable(), var, "{value}: {err}");
            assert!(err.to_string().contains(var), "{err}");
        }
        let long = "d".repeat(256);
        let err = resolve(Config::new(), &[("SPANSCOPE_OUT_DIR", &long)]).unwrap_err();
        assert_eq!(err.variable(), "SPANSCOPE_OUT_DIR", "{err}");
        for ratio in ["NaN", "inf", "-0.5", "1.01"] {
            let vars = [("OTEL_TRACES_SAMPLER", "traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", ratio)];
            assert_eq!(resolve(Config::new(), &vars).unwrap_err().variable(), "OTEL_TRACES_SAMPLER_ARG", "{ratio}");
        }
    }

    #[test]
    fn bounds_and_spellings_that_work() {
        let s = resolve(
            Config::new(),
            &[
                ("OTEL_BSP_EXPORT_TIMEOUT", "0"),
                ("OTEL_BSP_SCHEDULE_DELAY", "0"),
                ("SPANSCOPE_EXPORT_MAX_BACKOFF", "100"),
                ("SPANSCOPE_SHUTDOWN_TIMEOUT", "3600000"),
                ("OTEL_BSP_MAX_QUEUE_SIZE", "16777216"),
                ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "16777216"),
                ("OTEL_SDK_DISABLED", "FALSE"),
                ("OTEL_TRACES_EXPORTER", "Console,,LOCAL"),
                ("OTEL_TRACES_SAMPLER", "ALWAYS_OFF"),
            ],
        )
        .unwrap();
        assert_eq!(s.export_timeout, env::NO_LIMIT, "OpenTelemetry's timeout 0: no limit");
        assert_eq!(s.schedule_delay, Duration::ZERO);
        assert_eq!((s.max_backoff, s.shutdown_timeout), (Duration::from_millis(100), Duration::from_secs(3600)));
        assert_eq!((s.max_queue_size, s.max_export_batch_size), (1 << 24, 1 << 24));
        assert!(!s.disabled);
        assert_eq!(s.exporters, [TracesExporter::Console, TracesExporter::Local]);
        assert_eq!(s.sampler, Sampler::AlwaysOff);
        // Values given in code are brought within the same bounds.
        let s = resolve(
            Config::new()
                .schedule_delay(Duration::MAX)
                .shutdown_timeout(Duration::MAX)
                .max_queue_size(usize::MAX)
                .max_export_batch_size(0)
                .max_spans_per_segment(u32::MAX)
                .out_max_mb(usize::MAX),
            &[],
        )
        .unwrap();
        assert_eq!(
            (s.schedule_delay, s.shutdown_timeout),
            (Duration::from_millis((1 << 31) - 1), Duration::from_secs(3600))
        );
        assert_eq!((s.max_queue_size, s.max_export_batch_size, s.max_spans_per_segment), (1 << 24, 1, 1 << 24));
        assert_eq!(s.out_max_bytes, 1 << 44);
    }
}

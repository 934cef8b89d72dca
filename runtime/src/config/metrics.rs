//! The metrics' configuration: what the application asks for in `Config`'s metrics methods,
//! overridden by the environment, resolved into [`MetricsSettings`].

use std::time::Duration;

use crate::config::env::{parse_bool, parse_choice, parse_count, parse_list, parse_millis, parse_timeout, Vars};
use crate::config::ConfigError;

/// Where each collection of the metrics goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetricsExporter {
    /// One line of OTLP/JSON per collection in `metrics.jsonl` under the output folder (the
    /// default).
    Local,
    /// Each collection printed to standard output as a table.
    Console,
    /// Each collection sent to an OTLP receiver (`OTEL_EXPORTER_OTLP_METRICS_*` and the generic
    /// `OTEL_EXPORTER_OTLP_*` variables).
    Otlp,
    /// A pull endpoint, `GET /metrics` on `OTEL_EXPORTER_PROMETHEUS_HOST:OTEL_EXPORTER_PROMETHEUS_PORT`
    /// (`localhost:9464`), answering each scrape with a fresh collection.
    Prometheus,
    /// DogStatsD datagrams to the Datadog agent (`DD_DOGSTATSD_URL`, else UDP to
    /// `DD_DOGSTATSD_HOST` or `DD_AGENT_HOST` on `DD_DOGSTATSD_PORT`, `localhost:8125`).
    Datadog,
    /// Each collection sent to a SkyWalking OAP as meters, with the trace exporter's OAP
    /// settings (`SW_AGENT_COLLECTOR_BACKEND_SERVICES`, `SW_AGENT_AUTHENTICATION`, ...).
    Skywalking,
}

/// Which recordings may be kept as exemplars (`OTEL_METRICS_EXEMPLAR_FILTER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExemplarFilter {
    /// Recordings made in a sampled span (the default).
    TraceBased,
    AlwaysOn,
    AlwaysOff,
}

/// The metrics settings given in code; each is overridden by its variable.
#[derive(Debug, Clone, Default)]
pub(crate) struct MetricsConfig {
    pub exporters: Option<Vec<MetricsExporter>>,
    pub interval: Option<Duration>,
    pub cardinality_limit: Option<usize>,
}

/// The names of `OTEL_METRICS_EXPORTER`.
const EXPORTERS: &[(&str, MetricsExporter)] = &[
    ("local", MetricsExporter::Local),
    ("console", MetricsExporter::Console),
    ("otlp", MetricsExporter::Otlp),
    ("prometheus", MetricsExporter::Prometheus),
    ("datadog", MetricsExporter::Datadog),
    ("skywalking", MetricsExporter::Skywalking),
];

/// The shortest export interval: shorter, collecting would cost more than it tells.
const MIN_INTERVAL_MILLIS: u64 = 100;
/// The longest export interval (OpenTelemetry's bound on its millisecond variables).
const MAX_INTERVAL_MILLIS: u64 = crate::config::env::OTEL_MAX_MILLIS;
/// The most attribute sets an instrument keeps (the registry has 131,072 series in all).
const MAX_CARDINALITY_LIMIT: usize = 65_536;

impl MetricsConfig {
    /// The effective settings: environment, then this config, then defaults.
    pub(crate) fn resolve(self, vars: &Vars<'_>) -> Result<MetricsSettings, ConfigError> {
        let exporters = vars
            .read("OTEL_METRICS_EXPORTER", parse_exporters)?
            .or(self.exporters)
            .unwrap_or_else(|| vec![MetricsExporter::Local]);
        let interval = vars
            .read("OTEL_METRIC_EXPORT_INTERVAL", |var| parse_millis(var, MIN_INTERVAL_MILLIS..=MAX_INTERVAL_MILLIS))?
            .unwrap_or_else(|| {
                self.interval
                    .unwrap_or(Duration::from_secs(60))
                    .clamp(Duration::from_millis(MIN_INTERVAL_MILLIS), Duration::from_millis(MAX_INTERVAL_MILLIS))
            });
        let timeout = vars.read("OTEL_METRIC_EXPORT_TIMEOUT", parse_timeout)?.unwrap_or(Duration::from_secs(30));
        let exemplar_filter = vars
            .read("OTEL_METRICS_EXEMPLAR_FILTER", |var| {
                parse_choice(
                    var,
                    &[
                        ("trace_based", ExemplarFilter::TraceBased),
                        ("always_on", ExemplarFilter::AlwaysOn),
                        ("always_off", ExemplarFilter::AlwaysOff),
                    ],
                )
            })?
            .unwrap_or(ExemplarFilter::TraceBased);
        let cardinality_limit = vars
            .read("SPANSCOPE_METRICS_CARDINALITY_LIMIT", |var| parse_count(var, 1..=MAX_CARDINALITY_LIMIT))?
            .unwrap_or_else(|| self.cardinality_limit.unwrap_or(2000).clamp(1, MAX_CARDINALITY_LIMIT));
        let process = vars.read("SPANSCOPE_METRICS_PROCESS", parse_bool)?.unwrap_or(true);
        let own = vars.read("SPANSCOPE_METRICS_SELF", parse_bool)?.unwrap_or(true);
        Ok(MetricsSettings { exporters, interval, timeout, exemplar_filter, cardinality_limit, process, own })
    }
}

/// `OTEL_METRICS_EXPORTER`: a list of [`EXPORTERS`].
fn parse_exporters(var: &crate::config::env::SetVar) -> Result<Vec<MetricsExporter>, ConfigError> {
    parse_list(var, EXPORTERS)
}

/// Resolved metrics settings.
#[derive(Debug, Clone)]
pub(crate) struct MetricsSettings {
    /// Empty: recordings are not kept.
    pub exporters: Vec<MetricsExporter>,
    /// Between the starts of two collections.
    pub interval: Duration,
    /// The longest one export attempt may take.
    pub timeout: Duration,
    pub exemplar_filter: ExemplarFilter,
    /// Attribute sets each instrument keeps; past it, recordings go to its overflow series.
    pub cardinality_limit: usize,
    /// Whether the process's resources are metrics (`process.*`).
    pub process: bool,
    /// Whether spanscope's own counters are metrics (`spanscope.*`).
    pub own: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(config: MetricsConfig, vars: &[(&str, &str)]) -> Result<MetricsSettings, ConfigError> {
        config.resolve(&Vars::of(vars))
    }

    #[test]
    fn defaults_config_and_environment() {
        let s = resolve(MetricsConfig::default(), &[]).unwrap();
        assert_eq!(s.exporters, [MetricsExporter::Local]);
        assert_eq!((s.interval, s.timeout), (Duration::from_secs(60), Duration::from_secs(30)));
        assert_eq!((s.exemplar_filter, s.cardinality_limit), (ExemplarFilter::TraceBased, 2000));
        assert!(s.process && s.own);
        let s = resolve(
            MetricsConfig::default(),
            &[("SPANSCOPE_METRICS_PROCESS", "false"), ("SPANSCOPE_METRICS_SELF", "FALSE")],
        )
        .unwrap();
        assert!(!s.process && !s.own);
        let config = MetricsConfig {
            exporters: Some(vec![MetricsExporter::Console]),
            interval: Some(Duration::from_secs(5)),
            cardinality_limit: Some(10),
        };
        let s = resolve(config.clone(), &[]).unwrap();
        assert_eq!(
            (s.exporters.as_slice(), s.interval, s.cardinality_limit),
            (&[MetricsExporter::Console][..], Duration::from_secs(5), 10)
        );
        let s = resolve(
            config,
            &[
                ("OTEL_METRICS_EXPORTER", "LOCAL, console,local,SkyWalking"),
                ("OTEL_METRIC_EXPORT_INTERVAL", "100"),
                ("OTEL_METRIC_EXPORT_TIMEOUT", "0"),
                ("OTEL_METRICS_EXEMPLAR_FILTER", "Always_Off"),
                ("SPANSCOPE_METRICS_CARDINALITY_LIMIT", "65536"),
            ],
        )
        .unwrap();
        assert_eq!(s.exporters, [MetricsExporter::Local, MetricsExporter::Console, MetricsExporter::Skywalking]);
        assert_eq!((s.interval, s.timeout), (Duration::from_millis(100), crate::config::env::NO_LIMIT));
        assert_eq!((s.exemplar_filter, s.cardinality_limit), (ExemplarFilter::AlwaysOff, 65_536));
        assert!(resolve(MetricsConfig::default(), &[("OTEL_METRICS_EXPORTER", "none")]).unwrap().exporters.is_empty());
        let s = resolve(
            MetricsConfig { interval: Some(Duration::ZERO), cardinality_limit: Some(0), ..MetricsConfig::default() },
            &[],
        )
        .unwrap();
        assert_eq!(
            (s.interval, s.cardinality_limit),
            (Duration::from_millis(100), 1),
            "values from code are brought within bounds"
        );
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [
            ("OTEL_METRICS_EXPORTER", "local,zipkin"),
            ("OTEL_METRICS_EXPORTER", ","),
            ("OTEL_METRIC_EXPORT_INTERVAL", "99"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "0"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "2147483648"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "60s"),
            ("OTEL_METRIC_EXPORT_TIMEOUT", "-1"),
            ("OTEL_METRIC_EXPORT_TIMEOUT", "2147483648"),
            ("OTEL_METRICS_EXEMPLAR_FILTER", "sometimes"),
            ("SPANSCOPE_METRICS_CARDINALITY_LIMIT", "0"),
            ("SPANSCOPE_METRICS_CARDINALITY_LIMIT", "65537"),
            ("SPANSCOPE_METRICS_CARDINALITY_LIMIT", "many"),
            ("SPANSCOPE_METRICS_PROCESS", "yes"),
            ("SPANSCOPE_METRICS_SELF", "0"),
        ] {
            let err = resolve(MetricsConfig::default(), &[(var, value)]).unwrap_err();
            assert_eq!(err.variable(), var, "{value}: {err}");
            assert!(err.to_string().contains(value), "{err}");
        }
    }

    #[test]
    fn an_unknown_exporter_is_refused_naming_those_that_work() {
        for value in ["zipkin", "local,statsd", "otlp,,prom"] {
            let err = resolve(MetricsConfig::default(), &[("OTEL_METRICS_EXPORTER", value)]).unwrap_err();
            assert_eq!(err.variable(), "OTEL_METRICS_EXPORTER");
            let shown = err.to_string();
            assert!(
                shown.contains("skywalking") && shown.contains("datadog") && shown.contains("prometheus"),
                "{shown}"
            );
        }
    }
}

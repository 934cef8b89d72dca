//! The logs' configuration: what the application asks for in `Config`'s logs methods,
//! overridden by the environment, resolved into [`LogsSettings`].

use std::time::Duration;

use crate::config::env::{parse_choice, parse_count, parse_list, parse_millis, parse_timeout, Vars, MAX_COUNT};
use crate::config::log_filter::Filter;
use crate::config::ConfigError;

/// Where log records go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogsExporter {
    /// OTLP/JSON lines in `logs.jsonl` under the output folder (the default).
    Local,
    /// One line per record on standard output, beside `tracing-subscriber`'s `fmt` lines, or
    /// one JSON object per line (`SPANSCOPE_LOGS_CONSOLE_FORMAT=json`) for log shippers.
    Console,
    /// Each batch sent to an OTLP receiver (`OTEL_EXPORTER_OTLP_LOGS_*` and the generic
    /// `OTEL_EXPORTER_OTLP_*` variables).
    Otlp,
    /// Each record sent to a SkyWalking OAP's `LogReportService` with its trace context, with
    /// the trace exporter's OAP settings.
    Skywalking,
}

/// How the console exporter writes a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConsoleFormat {
    /// A line like `tracing-subscriber`'s `fmt` writes.
    Text,
    /// One JSON object per line.
    Json,
}

/// How large one record may be; beyond, it is cut and counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Characters of the body.
    pub body: usize,
    /// Characters of one string attribute value (`OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT`).
    pub value: usize,
    /// Attributes of one record (`OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT`).
    pub attributes: usize,
}

/// The logs settings given in code; each is overridden by its variable.
#[derive(Debug, Clone, Default)]
pub(crate) struct LogsConfig {
    pub exporters: Option<Vec<LogsExporter>>,
    pub filter: Option<String>,
}

/// The names of `OTEL_LOGS_EXPORTER`.
const EXPORTERS: &[(&str, LogsExporter)] = &[
    ("local", LogsExporter::Local),
    ("console", LogsExporter::Console),
    ("otlp", LogsExporter::Otlp),
    ("skywalking", LogsExporter::Skywalking),
];

/// The body limit, in characters: a record is a line, not a document (32 KiB of ASCII).
const BODY_LIMIT: usize = 32 * 1024;
/// The string attribute value limit unless set: as long as a body would be wasteful on every
/// field, and 4096 characters hold any id, path or error message worth keeping.
const DEFAULT_VALUE_LIMIT: usize = 4096;

impl LogsConfig {
    /// The effective settings: environment, then this config, then defaults.
    pub(crate) fn resolve(self, vars: &Vars<'_>) -> Result<LogsSettings, ConfigError> {
        let exporters = vars
            .read("OTEL_LOGS_EXPORTER", |var| parse_list(var, EXPORTERS))?
            .or(self.exporters)
            .unwrap_or_else(|| vec![LogsExporter::Local]);
        let filter = match vars.get("SPANSCOPE_LOGS_FILTER")? {
            Some((name, text)) => Filter::parse(name, &text)?,
            None => match self.filter {
                Some(text) => Filter::parse("Config::logs_filter", &text)?,
                None => Filter::default(),
            },
        };
        let rate_limit = vars.read("SPANSCOPE_LOGS_RATE_LIMIT", |var| parse_count(var, 0..=u32::MAX))?.unwrap_or(1000);
        let limits = Limits {
            body: BODY_LIMIT,
            value: vars
                .read("OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT", |var| parse_count(var, 1..=BODY_LIMIT))?
                .unwrap_or(DEFAULT_VALUE_LIMIT),
            attributes: vars
                .read("OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT", |var| parse_count(var, 0..=MAX_COUNT))?
                .unwrap_or(128),
        };
        let max_queue_size =
            vars.read("OTEL_BLRP_MAX_QUEUE_SIZE", |var| parse_count(var, 1..=MAX_COUNT))?.unwrap_or(2048);
        let max_export_batch_size = vars
            .read("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", |var| parse_count(var, 1..=MAX_COUNT))?
            .unwrap_or(512)
            .min(max_queue_size);
        let schedule_delay = vars
            .read("OTEL_BLRP_SCHEDULE_DELAY", |var| parse_millis(var, 1..=crate::config::env::OTEL_MAX_MILLIS))?
            .unwrap_or(Duration::from_millis(1000));
        let export_timeout = vars.read("OTEL_BLRP_EXPORT_TIMEOUT", parse_timeout)?.unwrap_or(Duration::from_secs(30));
        let console_format = vars
            .read("SPANSCOPE_LOGS_CONSOLE_FORMAT", |var| {
                parse_choice(var, &[("text", ConsoleFormat::Text), ("json", ConsoleFormat::Json)])
            })?
            .unwrap_or(ConsoleFormat::Text);
        Ok(LogsSettings {
            exporters,
            filter,
            rate_limit,
            limits,
            max_queue_size,
            max_export_batch_size,
            schedule_delay,
            export_timeout,
            console_format,
        })
    }
}

/// Resolved logs settings.
#[derive(Debug, Clone)]
pub(crate) struct LogsSettings {
    /// Empty: no record is kept (a bridge's check costs one load).
    pub exporters: Vec<LogsExporter>,
    pub filter: Filter,
    /// Records per second per call site; 0: no limit.
    pub rate_limit: u32,
    pub limits: Limits,
    /// Records the queue to the reporter holds (`OTEL_BLRP_MAX_QUEUE_SIZE`).
    pub max_queue_size: usize,
    /// Records per export (`OTEL_BLRP_MAX_EXPORT_BATCH_SIZE`, at most the queue size).
    pub max_export_batch_size: usize,
    /// The longest a record waits for its batch to be cut (`OTEL_BLRP_SCHEDULE_DELAY`).
    pub schedule_delay: Duration,
    /// The longest one export may take (`OTEL_BLRP_EXPORT_TIMEOUT`).
    pub export_timeout: Duration,
    pub console_format: ConsoleFormat,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::log_level::Level;

    fn resolve(config: LogsConfig, vars: &[(&str, &str)]) -> Result<LogsSettings, ConfigError> {
        config.resolve(&Vars::of(vars))
    }

    #[test]
    fn defaults_config_and_environment() {
        let s = resolve(LogsConfig::default(), &[]).unwrap();
        assert_eq!(s.exporters, [LogsExporter::Local]);
        assert_eq!(s.filter, Filter::default());
        assert_eq!((s.rate_limit, s.max_queue_size, s.max_export_batch_size), (1000, 2048, 512));
        assert_eq!((s.schedule_delay, s.export_timeout), (Duration::from_secs(1), Duration::from_secs(30)));
        assert_eq!(s.limits, Limits { body: 32 * 1024, value: 4096, attributes: 128 });
        assert_eq!(s.console_format, ConsoleFormat::Text);
        let config = LogsConfig { exporters: Some(vec![LogsExporter::Console]), filter: Some("debug".into()) };
        let s = resolve(config.clone(), &[]).unwrap();
        assert!(s.filter.passes(Level::Debug, "app") && s.exporters == [LogsExporter::Console]);
        let s = resolve(
            config,
            &[
                ("OTEL_LOGS_EXPORTER", "otlp, Console, skywalking"),
                ("SPANSCOPE_LOGS_FILTER", "warn,app=trace"),
                ("SPANSCOPE_LOGS_RATE_LIMIT", "0"),
                ("OTEL_BLRP_MAX_QUEUE_SIZE", "100"),
                ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "1000"),
                ("OTEL_BLRP_SCHEDULE_DELAY", "50"),
                ("OTEL_BLRP_EXPORT_TIMEOUT", "0"),
                ("OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT", "10"),
                ("OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT", "0"),
                ("SPANSCOPE_LOGS_CONSOLE_FORMAT", "JSON"),
            ],
        )
        .unwrap();
        assert_eq!(s.exporters, [LogsExporter::Otlp, LogsExporter::Console, LogsExporter::Skywalking]);
        assert!(!s.filter.passes(Level::Info, "other") && s.filter.passes(Level::Trace, "app::x"));
        assert_eq!((s.rate_limit, s.max_queue_size, s.max_export_batch_size), (0, 100, 100));
        assert_eq!((s.schedule_delay, s.export_timeout), (Duration::from_millis(50), crate::config::env::NO_LIMIT));
        assert_eq!((s.limits.value, s.limits.attributes), (10, 0));
        assert_eq!(s.console_format, ConsoleFormat::Json);
        assert!(resolve(LogsConfig::default(), &[("OTEL_LOGS_EXPORTER", "none")]).unwrap().exporters.is_empty());
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [
            ("OTEL_LOGS_EXPORTER", "local,logging"),
            ("SPANSCOPE_LOGS_FILTER", "app=loud"),
            ("SPANSCOPE_LOGS_RATE_LIMIT", "-1"),
            ("OTEL_BLRP_MAX_QUEUE_SIZE", "0"),
            ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "many"),
            ("OTEL_BLRP_SCHEDULE_DELAY", "0"),
            ("OTEL_BLRP_EXPORT_TIMEOUT", "1s"),
            ("OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT", "0"),
            ("OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT", "x"),
            ("SPANSCOPE_LOGS_CONSOLE_FORMAT", "yaml"),
        ] {
            let error = resolve(LogsConfig::default(), &[(var, value)]).unwrap_err().to_string();
            assert!(error.contains(var), "{var}={value}: {error}");
        }
        let error = resolve(LogsConfig { filter: Some("=x".into()), ..LogsConfig::default() }, &[]).unwrap_err();
        assert!(error.to_string().contains("Config::logs_filter"), "{error}");
    }
}

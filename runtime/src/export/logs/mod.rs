//! Logs exporters: the lanes each batch of records goes to, one module per backend.
//!
//! Records come from the bridges through their own queue (`OTEL_BLRP_MAX_QUEUE_SIZE`); the
//! reporter cuts a batch at `OTEL_BLRP_MAX_EXPORT_BATCH_SIZE` records or when its oldest has
//! waited `OTEL_BLRP_SCHEDULE_DELAY`, and hands it to every logs lane, which never makes the
//! reporter wait: a lane whose backend is slow or down drops its own oldest records beyond its
//! backlog, counted. Every export is bounded by `OTEL_BLRP_EXPORT_TIMEOUT`.

mod console;
mod file;
pub(crate) mod otlp;
mod skywalking;

use std::sync::Arc;

use crate::clock::Converter;
use crate::config::env::Vars;
use crate::config::{ConfigError, LogsExporter, Settings};
use crate::error::InitError;
use crate::export::lane::{self, Launch};
use crate::export::resource::Resource;
use crate::export::traces::skywalking::SkywalkingSettings;
use crate::export::transport::otlp::OtlpSettings;
use crate::export::Load;
use crate::logs::LogRecord;
use crate::stats::Signal;

/// A configured logs backend.
#[derive(Debug, Clone)]
pub(crate) enum LogBackend {
    /// `logs.jsonl` in the output folder.
    File,
    /// Standard output, with the Datadog trace exporter's correlation settings.
    Console(console::ConsoleSettings),
    Otlp(OtlpSettings),
    /// The trace exporter's OAP settings.
    Skywalking(SkywalkingSettings),
}

impl LogBackend {
    /// The backends of the settings' logs exporters, in their order; each reads its own
    /// variables, only when configured.
    pub(crate) fn resolve_all(settings: &Settings, vars: &Vars<'_>) -> Result<Vec<Self>, ConfigError> {
        settings
            .logs
            .exporters
            .iter()
            .map(|exporter| {
                Ok(match exporter {
                    LogsExporter::Local => Self::File,
                    LogsExporter::Console => Self::Console(console::ConsoleSettings::resolve(settings, vars)?),
                    LogsExporter::Otlp => Self::Otlp(otlp::resolve(vars, settings.logs.export_timeout)?),
                    LogsExporter::Skywalking => Self::Skywalking(SkywalkingSettings::resolve(vars)?),
                })
            })
            .collect()
    }

    /// The credentials it sends, which no line on standard error may show.
    pub(crate) fn credentials(&self) -> Vec<&str> {
        match self {
            Self::Otlp(otlp) => otlp.credentials(),
            Self::Skywalking(settings) => settings.authentication.as_deref().into_iter().collect(),
            Self::File | Self::Console(_) => Vec::new(),
        }
    }

    /// Its lane. Outputs that can be opened now (files) are, so that an error stops `init`.
    pub(crate) fn launch(
        &self,
        settings: &Settings,
        resource: &Arc<Resource>,
    ) -> Result<Option<Launch<LogBatch>>, InitError> {
        Ok(match self {
            Self::File => {
                // Logs keep 2/16 of the folder's budget (traces 5/16, metrics 1/16, profiles half).
                let exporter = file::LogsFile::open(
                    &settings.out_dir,
                    resource,
                    settings.out_max_bytes / 16 * 2,
                    settings.logs.export_timeout,
                )?;
                Some(lane::launch(move || exporter))
            }
            Self::Otlp(otlp) => {
                let (otlp, resource) = (otlp.clone(), Arc::clone(resource));
                Some(lane::launch(move || otlp::OtlpLogExporter::new(&otlp, &resource)))
            }
            Self::Console(console) => {
                let (format, timeout) = (settings.logs.console_format, settings.logs.export_timeout);
                let (console, resource) = (*console, Arc::clone(resource));
                Some(lane::launch(move || {
                    console::LogsConsole::new(std::io::stdout(), format, console, &resource, timeout)
                }))
            }
            Self::Skywalking(oap) => {
                let (oap, resource, timeout) = (oap.clone(), Arc::clone(resource), settings.logs.export_timeout);
                Some(lane::launch(move || skywalking::SkywalkingLogExporter::new(&oap, resource, timeout)))
            }
        })
    }
}

/// A batch of records, shared by every logs lane until each has delivered or dropped it.
#[derive(Debug)]
pub(crate) struct LogBatch {
    pub records: Vec<LogRecord>,
    /// Turns the records' raw ticks into Unix time; taken when the batch was cut.
    pub clock: Converter,
}

impl Load for LogBatch {
    const SIGNAL: Signal = Signal::Logs;

    fn units(&self) -> u64 {
        self.records.len() as u64
    }
}

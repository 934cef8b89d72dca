//! The trace backends the configuration asks for, each with its settings resolved by its own
//! module from the environment at `init` (only for the exporters configured, so a variable of
//! an unused backend is never an error).

use crate::config::env::Vars;
use crate::config::{ConfigError, TracesExporter};
use crate::export::traces::datadog::DatadogSettings;
use crate::export::traces::otlp::OtlpSettings;
use crate::export::traces::skywalking::SkywalkingSettings;

/// A configured trace backend.
#[derive(Debug, Clone)]
pub(crate) enum TraceBackend {
    /// `traces.jsonl` in the output folder.
    File,
    Console,
    Otlp(OtlpSettings),
    Skywalking(SkywalkingSettings),
    Datadog(DatadogSettings),
}

impl TraceBackend {
    /// The backends of `exporters`, in their order.
    pub(crate) fn resolve_all(exporters: &[TracesExporter], vars: &Vars<'_>) -> Result<Vec<Self>, ConfigError> {
        exporters
            .iter()
            .map(|exporter| {
                Ok(match exporter {
                    TracesExporter::Local => Self::File,
                    TracesExporter::Console => Self::Console,
                    TracesExporter::Otlp => Self::Otlp(OtlpSettings::resolve(vars)?),
                    TracesExporter::Skywalking => Self::Skywalking(SkywalkingSettings::resolve(vars)?),
                    TracesExporter::Datadog => Self::Datadog(DatadogSettings::resolve(vars)?),
                })
            })
            .collect()
    }

    /// The credentials it sends, which no line on standard error may show.
    pub(crate) fn credentials(&self) -> Vec<&str> {
        match self {
            Self::Otlp(otlp) => otlp.headers.values().filter_map(|value| value.to_str().ok()).collect(),
            Self::Skywalking(skywalking) => skywalking.authentication.as_deref().into_iter().collect(),
            Self::File | Self::Console | Self::Datadog(_) => Vec::new(),
        }
    }
}

//! The trace backends the configuration asks for, each with its settings resolved by its own
//! module from the environment at `init` (only for the exporters configured, so a variable of
//! an unused backend is never an error).

use crate::config::env::Vars;
use crate::config::{ConfigError, Settings, TracesExporter};
use crate::export::traces::datadog::DatadogSettings;
use crate::export::traces::skywalking::SkywalkingSettings;
use crate::export::transport::otlp::{OtlpSettings, OtlpSignal};

/// A configured trace backend.
#[derive(Debug, Clone)]
pub(crate) enum TraceBackend {
    /// `traces.jsonl` in the output folder.
    File,
    Console,
    Otlp(OtlpSettings),
    Skywalking(SkywalkingSettings),
    Datadog(DatadogSettings),
    /// Given in code: `spanscope::testing`.
    #[cfg(feature = "testing")]
    Memory(super::memory::InMemoryExporter),
}

impl TraceBackend {
    /// The backends of the settings' exporters, in their order, then those given in code.
    pub(crate) fn resolve_all(settings: &Settings, vars: &Vars<'_>) -> Result<Vec<Self>, ConfigError> {
        let configured = settings
            .exporters
            .iter()
            .map(|exporter| {
                Ok(match exporter {
                    TracesExporter::Local => Self::File,
                    TracesExporter::Console => Self::Console,
                    TracesExporter::Otlp => Self::Otlp(OtlpSettings::resolve(vars, OtlpSignal::Traces)?),
                    TracesExporter::Skywalking => Self::Skywalking(SkywalkingSettings::resolve(vars)?),
                    TracesExporter::Datadog => Self::Datadog(DatadogSettings::resolve(vars)?),
                })
            })
            .collect::<Result<Vec<_>, ConfigError>>()?;
        #[cfg(feature = "testing")]
        let in_code = settings.code_exporters.0.iter().filter_map(|exporter| exporter.downcast_ref()).cloned();
        #[cfg(feature = "testing")]
        let configured = configured.into_iter().chain(in_code.map(Self::Memory)).collect();
        Ok(configured)
    }

    /// The credentials it sends, which no line on standard error may show.
    pub(crate) fn credentials(&self) -> Vec<&str> {
        match self {
            Self::Otlp(otlp) => otlp.credentials(),
            Self::Skywalking(skywalking) => skywalking.authentication.as_deref().into_iter().collect(),
            Self::File | Self::Console | Self::Datadog(_) => Vec::new(),
            #[cfg(feature = "testing")]
            Self::Memory(_) => Vec::new(),
        }
    }
}

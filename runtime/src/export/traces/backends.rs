//! The settings of the network backends, read from the environment at `init` (only for the
//! exporters configured, so a variable of an unused backend is never an error).

use crate::config::env::Vars;
use crate::config::{ConfigError, TracesExporter};

use crate::export::traces::datadog::DatadogConfig;
use crate::export::traces::otlp::OtlpConfig;
use crate::export::traces::skywalking::SkywalkingConfig;

/// Each configured backend's settings.
#[derive(Debug, Clone, Default)]
pub(crate) struct BackendSettings {
    pub otlp: Option<OtlpConfig>,
    pub skywalking: Option<SkywalkingConfig>,
    pub datadog: Option<DatadogConfig>,
}

impl BackendSettings {
    pub(crate) fn resolve(exporters: &[TracesExporter], vars: &Vars<'_>) -> Result<Self, ConfigError> {
        let wants = |kind| exporters.contains(&kind);
        Ok(Self {
            otlp: wants(TracesExporter::Otlp).then(|| OtlpConfig::resolve(vars)).transpose()?,
            skywalking: wants(TracesExporter::Skywalking).then(|| SkywalkingConfig::resolve(vars)).transpose()?,
            datadog: wants(TracesExporter::Datadog).then(|| DatadogConfig::resolve(vars)).transpose()?,
        })
    }
}

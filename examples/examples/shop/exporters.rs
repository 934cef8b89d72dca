//! Where the demo's services send their traces and profiles: what the operator configured, or
//! the local files plus every backend whose address is set.

/// Trace exporters turned on, besides `local`, by setting one of their address variables.
const TRACE_BACKENDS: [(&str, &[&str]); 3] = [
    ("otlp", &["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]),
    ("skywalking", &["SW_AGENT_COLLECTOR_BACKEND_SERVICES"]),
    ("datadog", &["DD_TRACE_AGENT_URL", "DD_AGENT_HOST"]),
];
/// The same for profile exporters.
const PROFILE_BACKENDS: [(&str, &[&str]); 1] = [("pyroscope", &["PYROSCOPE_SERVER_ADDRESS"])];

/// The exporter lists the demo gives its services.
#[derive(Debug)]
pub struct Exporters {
    /// `OTEL_TRACES_EXPORTER`'s value.
    pub traces: String,
    /// `SPANSCOPE_PROFILES_EXPORTER`'s.
    pub profiles: String,
    profile_interval: String,
}

impl Exporters {
    /// `OTEL_TRACES_EXPORTER` and `SPANSCOPE_PROFILES_EXPORTER` as given; where unset, `local`
    /// plus the backends whose address is set. One profile a minute unless
    /// `SPANSCOPE_PROFILE_INTERVAL` says, so that a run usually makes one per service.
    pub fn from_env() -> Self {
        Self {
            traces: configured("OTEL_TRACES_EXPORTER", &TRACE_BACKENDS),
            profiles: configured("SPANSCOPE_PROFILES_EXPORTER", &PROFILE_BACKENDS),
            profile_interval: set("SPANSCOPE_PROFILE_INTERVAL").unwrap_or_else(|| "60".to_owned()),
        }
    }

    /// The variables to give each service.
    pub fn child_env(&self) -> [(&'static str, &str); 3] {
        [
            ("OTEL_TRACES_EXPORTER", &self.traces),
            ("SPANSCOPE_PROFILES_EXPORTER", &self.profiles),
            ("SPANSCOPE_PROFILE_INTERVAL", &self.profile_interval),
        ]
    }

    /// Where the data goes, in a few words.
    pub fn summary(&self) -> String {
        format!("traces to {}, profiles (CPU, allocations) to {}", self.traces, self.profiles)
    }
}

/// The value of `variable`, else `local` and each of `backends` whose address is set.
fn configured(variable: &str, backends: &[(&str, &[&str])]) -> String {
    set(variable).unwrap_or_else(|| {
        let on = backends.iter().filter(|(_, addresses)| addresses.iter().any(|a| set(a).is_some()));
        std::iter::once("local").chain(on.map(|(exporter, _)| *exporter)).collect::<Vec<_>>().join(",")
    })
}

/// The variable's value, unless unset or blank (as spanscope reads it).
fn set(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.trim().is_empty())
}

/// Whether `exporters` (a comma-separated list) has the local one.
pub fn has_local(exporters: &str) -> bool {
    exporters.split(',').any(|exporter| exporter.trim() == "local")
}

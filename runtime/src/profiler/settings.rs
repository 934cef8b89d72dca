//! The profiler's configuration: what the application asks for in [`ProfilerConfig`],
//! overridden by the environment, resolved into [`ProfilerSettings`].

use std::time::Duration;

use crate::config::ConfigError;
use crate::export::PyroscopeConfig;

/// Where each window's CPU profile goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProfilesExporter {
    /// A gzipped pprof file and flamegraph SVGs per window in the output folder (the default).
    Local,
    /// Pushed to a Pyroscope server.
    Pyroscope,
}

/// Which Pyroscope API profiles are sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PyroscopeApi {
    /// `POST /push.v1.PusherService/Push` with a gzipped `PushRequest` (Pyroscope 1.0 and later).
    Push,
    /// The legacy `POST /ingest?format=pprof`.
    Ingest,
}

/// What the CPU profiler should do. Every field left unset takes its environment variable,
/// then its default.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct ProfilerConfig {
    enabled: Option<bool>,
    hz: Option<u32>,
    interval: Option<Duration>,
    exporters: Option<Vec<ProfilesExporter>>,
    flamegraph_tag: Option<String>,
    pyroscope_address: Option<String>,
}

impl ProfilerConfig {
    /// Nothing set: everything from the environment or the defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether to sample at all (`SPANSCOPE_PROFILER=on|off` wins; default on where supported).
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = Some(enabled);
        self
    }

    /// Samples per second of CPU time (`SPANSCOPE_PROFILE_HZ` wins; default 100).
    pub fn hz(mut self, hz: u32) -> Self {
        self.hz = Some(hz);
        self
    }

    /// The length of one profile, windows aligned to the wall clock
    /// (`SPANSCOPE_PROFILE_INTERVAL`, in seconds, wins; default 10 s).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = Some(interval);
        self
    }

    /// Where profiles go (`SPANSCOPE_PROFILES_EXPORTER` wins; default `local`). Empty: nowhere.
    pub fn exporters(mut self, exporters: impl IntoIterator<Item = ProfilesExporter>) -> Self {
        self.exporters = Some(exporters.into_iter().collect());
        self
    }

    /// Writes one flamegraph per value of this tag (its wire name) besides the whole one
    /// (`SPANSCOPE_FLAMEGRAPH_TAG` wins).
    pub fn flamegraph_tag(mut self, tag: impl Into<String>) -> Self {
        self.flamegraph_tag = Some(tag.into());
        self
    }

    /// The Pyroscope server, `http://host:port[/prefix]` or `https://...`
    /// (`PYROSCOPE_SERVER_ADDRESS` wins; default `http://localhost:4040`).
    pub fn pyroscope_address(mut self, address: impl Into<String>) -> Self {
        self.pyroscope_address = Some(address.into());
        self
    }

    /// The effective settings: environment, then this config, then defaults.
    /// `var` looks up a non-empty environment variable (as `Config::resolve` does).
    pub(crate) fn resolve(self, var: &dyn Fn(&'static str) -> Option<Var>) -> Result<ProfilerSettings, ConfigError> {
        let enabled = match var("SPANSCOPE_PROFILER") {
            Some((name, value)) => match value.trim().to_ascii_lowercase().as_str() {
                "on" | "true" => true,
                "off" | "false" => false,
                _ => return Err(ConfigError::new(name, &value, "`on` or `off`")),
            },
            None => self.enabled.unwrap_or(true),
        };
        let hz = match var("SPANSCOPE_PROFILE_HZ") {
            Some((name, value)) => match value.trim().parse::<u32>() {
                Ok(hz @ 1..=1000) => hz,
                _ => return Err(ConfigError::new(name, &value, "a whole number of samples per second, 1 to 1000")),
            },
            None => self.hz.unwrap_or(100).clamp(1, 1000),
        };
        let interval = match var("SPANSCOPE_PROFILE_INTERVAL") {
            Some((name, value)) => match value.trim().parse::<u64>() {
                Ok(seconds @ 1..) => Duration::from_secs(seconds),
                _ => return Err(ConfigError::new(name, &value, "a positive whole number of seconds")),
            },
            None => self.interval.unwrap_or(Duration::from_secs(10)).max(Duration::from_millis(100)),
        };
        let exporters = match var("SPANSCOPE_PROFILES_EXPORTER") {
            Some((name, value)) => {
                let mut exporters = Vec::new();
                for item in value.split(',').map(str::trim) {
                    let exporter = match item {
                        "local" => ProfilesExporter::Local,
                        "pyroscope" => ProfilesExporter::Pyroscope,
                        "none" => continue,
                        _ => {
                            return Err(ConfigError::new(
                                name,
                                &value,
                                "a comma-separated list of local, pyroscope, none",
                            ))
                        }
                    };
                    if !exporters.contains(&exporter) {
                        exporters.push(exporter);
                    }
                }
                exporters
            }
            None => self.exporters.unwrap_or_else(|| vec![ProfilesExporter::Local]),
        };
        let flamegraph_tag = var("SPANSCOPE_FLAMEGRAPH_TAG").map(|(_, v)| v.trim().to_owned()).or(self.flamegraph_tag);
        // Only when used, so that a variable of an unused exporter is never an error.
        let pyroscope = exporters
            .contains(&ProfilesExporter::Pyroscope)
            .then(|| PyroscopeConfig::resolve(var, self.pyroscope_address))
            .transpose()?;
        Ok(ProfilerSettings { enabled, hz, interval, exporters, flamegraph_tag, pyroscope })
    }
}

/// Resolved profiler settings.
#[derive(Debug, Clone)]
pub(crate) struct ProfilerSettings {
    pub enabled: bool,
    pub hz: u32,
    pub interval: Duration,
    pub exporters: Vec<ProfilesExporter>,
    pub flamegraph_tag: Option<String>,
    /// Resolved when the `pyroscope` exporter is configured.
    pub pyroscope: Option<PyroscopeConfig>,
}

/// A set environment variable: its name and value.
pub(crate) type Var = (&'static str, String);

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(config: ProfilerConfig, vars: &[(&str, &str)]) -> Result<ProfilerSettings, ConfigError> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        config.resolve(&|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| (name, v.clone())))
    }

    #[test]
    fn defaults_config_and_environment() {
        let s = resolve(ProfilerConfig::new(), &[]).unwrap();
        assert!(s.enabled);
        assert_eq!(
            (s.hz, s.interval, s.exporters.as_slice()),
            (100, Duration::from_secs(10), &[ProfilesExporter::Local][..])
        );
        assert!(s.pyroscope.is_none(), "resolved only when used");
        let s = resolve(
            ProfilerConfig::new().hz(50).enabled(false),
            &[
                ("SPANSCOPE_PROFILER", "on"),
                ("SPANSCOPE_PROFILE_INTERVAL", "60"),
                ("SPANSCOPE_PROFILES_EXPORTER", "pyroscope,local"),
                ("PYROSCOPE_SERVER_ADDRESS", "http://pyro.internal/base/"),
                ("PYROSCOPE_BASIC_AUTH_USER", "u"),
                ("PYROSCOPE_BASIC_AUTH_PASSWORD", "secret"),
                ("PYROSCOPE_TAGS", "env=prod, region=eu"),
                ("SPANSCOPE_PYROSCOPE_API", "ingest"),
            ],
        )
        .unwrap();
        assert!(s.enabled);
        assert_eq!((s.hz, s.interval), (50, Duration::from_secs(60)));
        assert_eq!(s.exporters, [ProfilesExporter::Pyroscope, ProfilesExporter::Local]);
        assert!(!format!("{:?}", s.pyroscope.expect("resolved")).contains("secret"), "credentials stay out of logs");
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [
            ("SPANSCOPE_PROFILER", "maybe"),
            ("SPANSCOPE_PROFILE_HZ", "0"),
            ("SPANSCOPE_PROFILE_HZ", "5000"),
            ("SPANSCOPE_PROFILE_INTERVAL", "10s"),
            ("SPANSCOPE_PROFILES_EXPORTER", "local,s3"),
        ] {
            let err = resolve(ProfilerConfig::new(), &[(var, value)]).unwrap_err();
            assert_eq!(err.variable(), var, "{err}");
        }
        // Pyroscope's variables matter only when its exporter is configured.
        let bad = ("PYROSCOPE_SERVER_ADDRESS", "pyro.internal:4040");
        assert!(resolve(ProfilerConfig::new(), &[bad]).is_ok());
        let err = resolve(ProfilerConfig::new(), &[bad, ("SPANSCOPE_PROFILES_EXPORTER", "pyroscope")]).unwrap_err();
        assert_eq!(err.variable(), bad.0, "{err}");
    }
}

//! The profiler's configuration: what the application asks for in [`ProfilerConfig`],
//! overridden by the environment, resolved into [`ProfilerSettings`].

use std::time::Duration;

use crate::config::env::{parse_choice, parse_count, parse_list, parse_seconds, Vars, BOOLEAN, MAX_SECONDS};
use crate::config::ConfigError;

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
    alloc_sample_bytes: Option<u64>,
}

impl ProfilerConfig {
    /// Nothing set: everything from the environment or the defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether to sample at all (`SPANSCOPE_PROFILER` wins: `on` or `off`, or `true` or `false`
    /// as every boolean variable, in any case; default on where supported).
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = Some(enabled);
        self
    }

    /// Samples per second of CPU time, 1 to 1000 (`SPANSCOPE_PROFILE_HZ` wins; default 100).
    pub fn hz(mut self, hz: u32) -> Self {
        self.hz = Some(hz);
        self
    }

    /// The length of one profile, windows aligned to the wall clock, from 100 ms to an hour
    /// (`SPANSCOPE_PROFILE_INTERVAL`, in seconds from 1 to 3600, wins; default 10 s).
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

    /// The mean number of bytes allocated between two allocation samples, up to 1 GiB, `0` for
    /// none (`SPANSCOPE_ALLOC_SAMPLE_BYTES` wins; default 524,288, Go's and jemalloc's 512 KiB).
    /// Allocations are sampled only where [`alloc::Profiled`](crate::alloc::Profiled) is the
    /// global allocator.
    pub fn alloc_sample_bytes(mut self, bytes: u64) -> Self {
        self.alloc_sample_bytes = Some(bytes);
        self
    }

    /// The effective settings: environment, then this config, then defaults.
    pub(crate) fn resolve(self, vars: &Vars<'_>) -> Result<ProfilerSettings, ConfigError> {
        let switch = [("on", true), ("off", false), BOOLEAN[0], BOOLEAN[1]];
        let enabled =
            vars.read("SPANSCOPE_PROFILER", |var| parse_choice(var, &switch))?.or(self.enabled).unwrap_or(true);
        let hz = vars
            .read("SPANSCOPE_PROFILE_HZ", |var| parse_count(var, 1..=MAX_HZ))?
            .unwrap_or_else(|| self.hz.unwrap_or(100).clamp(1, MAX_HZ));
        let interval = vars.read("SPANSCOPE_PROFILE_INTERVAL", |var| parse_seconds(var, 1..=MAX_SECONDS))?;
        let interval = interval.unwrap_or_else(|| {
            self.interval
                .unwrap_or(Duration::from_secs(10))
                .clamp(Duration::from_millis(100), Duration::from_secs(MAX_SECONDS))
        });
        let exporters = vars
            .read("SPANSCOPE_PROFILES_EXPORTER", |var| {
                parse_list(var, &[("local", ProfilesExporter::Local), ("pyroscope", ProfilesExporter::Pyroscope)])
            })?
            .or(self.exporters)
            .unwrap_or_else(|| vec![ProfilesExporter::Local]);
        let flamegraph_tag =
            vars.get("SPANSCOPE_FLAMEGRAPH_TAG")?.map(|(_, v)| v.trim().to_owned()).or(self.flamegraph_tag);
        let pyroscope_address = self.pyroscope_address;
        let alloc_sample_bytes = vars
            .read("SPANSCOPE_ALLOC_SAMPLE_BYTES", |var| parse_count(var, 0..=MAX_ALLOC_SAMPLE_BYTES))?
            .unwrap_or_else(|| self.alloc_sample_bytes.unwrap_or(512 * 1024).min(MAX_ALLOC_SAMPLE_BYTES));
        Ok(ProfilerSettings { enabled, hz, interval, exporters, flamegraph_tag, pyroscope_address, alloc_sample_bytes })
    }
}

/// The most samples per second: past it the signal handler's own cost distorts the profile.
const MAX_HZ: u32 = 1000;

/// The longest mean interval between allocation samples: 1 GiB.
const MAX_ALLOC_SAMPLE_BYTES: u64 = 1 << 30;

/// Resolved profiler settings.
#[derive(Debug, Clone)]
pub(crate) struct ProfilerSettings {
    pub enabled: bool,
    pub hz: u32,
    pub interval: Duration,
    pub exporters: Vec<ProfilesExporter>,
    pub flamegraph_tag: Option<String>,
    /// The Pyroscope server given in code, which `PYROSCOPE_SERVER_ADDRESS` overrides.
    pub pyroscope_address: Option<String>,
    /// The mean bytes between allocation samples; 0 for none.
    pub alloc_sample_bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(config: ProfilerConfig, vars: &[(&str, &str)]) -> Result<ProfilerSettings, ConfigError> {
        config.resolve(&Vars::of(vars))
    }

    #[test]
    fn defaults_config_and_environment() {
        let s = resolve(ProfilerConfig::new(), &[]).unwrap();
        assert!(s.enabled);
        assert_eq!(
            (s.hz, s.interval, s.exporters.as_slice()),
            (100, Duration::from_secs(10), &[ProfilesExporter::Local][..])
        );
        let s = resolve(
            ProfilerConfig::new().hz(50).enabled(false),
            &[
                ("SPANSCOPE_PROFILER", "on"),
                ("SPANSCOPE_PROFILE_INTERVAL", "60"),
                ("SPANSCOPE_PROFILES_EXPORTER", "pyroscope,local"),
            ],
        )
        .unwrap();
        assert!(s.enabled);
        assert_eq!((s.hz, s.interval), (50, Duration::from_secs(60)));
        assert_eq!(s.exporters, [ProfilesExporter::Pyroscope, ProfilesExporter::Local]);
        assert_eq!(resolve(ProfilerConfig::new(), &[]).unwrap().alloc_sample_bytes, 512 * 1024);
        let s = resolve(ProfilerConfig::new().alloc_sample_bytes(4096), &[("SPANSCOPE_ALLOC_SAMPLE_BYTES", "0")]);
        assert_eq!(s.unwrap().alloc_sample_bytes, 0, "the variable wins; 0 is off");
        assert_eq!(resolve(ProfilerConfig::new().alloc_sample_bytes(1), &[]).unwrap().alloc_sample_bytes, 1);
    }

    #[test]
    fn the_switch_takes_on_off_and_the_boolean_spellings_and_bounds_hold() {
        for (value, enabled) in [("on", true), ("OFF", false), ("true", true), ("False", false)] {
            assert_eq!(resolve(ProfilerConfig::new(), &[("SPANSCOPE_PROFILER", value)]).unwrap().enabled, enabled);
        }
        let s = resolve(ProfilerConfig::new().hz(u32::MAX).interval(Duration::MAX), &[]).unwrap();
        assert_eq!((s.hz, s.interval), (1000, Duration::from_secs(3600)), "values from code are brought within bounds");
        let s = resolve(ProfilerConfig::new(), &[("SPANSCOPE_PROFILE_INTERVAL", "3600")]).unwrap();
        assert_eq!(s.interval, Duration::from_secs(3600));
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [
            ("SPANSCOPE_PROFILER", "maybe"),
            ("SPANSCOPE_PROFILE_HZ", "0"),
            ("SPANSCOPE_PROFILE_HZ", "5000"),
            ("SPANSCOPE_PROFILE_INTERVAL", "10s"),
            ("SPANSCOPE_PROFILE_INTERVAL", "0"),
            ("SPANSCOPE_PROFILE_INTERVAL", "3601"),
            ("SPANSCOPE_PROFILE_INTERVAL", "18446744073709551615"),
            ("SPANSCOPE_PROFILES_EXPORTER", "local,s3"),
            ("SPANSCOPE_PROFILES_EXPORTER", ","),
            ("SPANSCOPE_PROFILER", "1"),
            ("SPANSCOPE_ALLOC_SAMPLE_BYTES", "512KiB"),
            ("SPANSCOPE_ALLOC_SAMPLE_BYTES", "2147483648"),
            ("SPANSCOPE_ALLOC_SAMPLE_BYTES", "-1"),
        ] {
            let err = resolve(ProfilerConfig::new(), &[(var, value)]).unwrap_err();
            assert_eq!(err.variable(), var, "{err}");
        }
    }
}

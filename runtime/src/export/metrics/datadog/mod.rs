//! The DogStatsD exporter (`OTEL_METRICS_EXPORTER=datadog`): each collection sent to the
//! Datadog agent as DogStatsD datagrams ([`lines`] says what each instrument becomes).
//!
//! The agent is `DD_DOGSTATSD_URL` (`udp://host[:port]`, `unix:///path` or
//! `unixgram:///path`), else UDP to `DD_DOGSTATSD_HOST` (then `DD_AGENT_HOST`, then
//! `localhost`) on `DD_DOGSTATSD_PORT` (8125), as datadog-go and dd-trace-rs read them. Every
//! line carries the tags `env`, `service` and `version` the trace exporter gives spans (from
//! `DD_ENV`, the service name, `DD_VERSION`, or their OpenTelemetry resource attributes), so
//! metrics and traces of a service meet under the same unified service tags.
//!
//! Counters and histograms go as deltas, so each collection is encoded once, its datagrams
//! kept for retries. A datagram the socket refuses (a full buffer, a datagram too large) is
//! dropped, its points counted as rejected; when no datagram of a collection could go because
//! no agent is there (no socket at the path, a refused port), the lane keeps the collection and
//! tries again after its backoff, so an agent that starts later gets it. A UDP agent that is
//! down is mostly silent: its datagrams are lost without an error, as with any StatsD client.

mod lines;
mod socket;

use std::time::Duration;

use crate::config::env::{parse_count, SetVar, Vars};
use crate::config::ConfigError;
use crate::export::metrics::temporality::{Preference, Temporalizer};
use crate::export::resource::Resource;
use crate::export::{ExportError, Exporter, Sent};
use crate::metrics::snapshot::Snapshot;
use crate::tag::TagValue;
use lines::Datagram;
use socket::{Agent, AgentSocket};

/// The default DogStatsD port.
const PORT: u16 = 8125;

/// Where the DogStatsD exporter sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DogStatsdSettings {
    agent: Agent,
}

impl DogStatsdSettings {
    pub(crate) fn resolve(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        if let Some(var) = vars.get("DD_DOGSTATSD_URL")? {
            return Ok(Self { agent: parse_url(&var)? });
        }
        let host = match vars.first(&["DD_DOGSTATSD_HOST", "DD_AGENT_HOST"])? {
            Some((name, host)) => parse_host(name, &host, host.trim())?,
            None => "localhost".to_owned(),
        };
        let port = vars.read("DD_DOGSTATSD_PORT", |var| parse_count(var, 1..=u16::MAX))?.unwrap_or(PORT);
        Ok(Self { agent: Agent::Udp { host, port } })
    }
}

/// What `DD_DOGSTATSD_URL` may be.
const URL_FORMS: &str = "udp://host[:port], unix:///path or unixgram:///path";

/// `DD_DOGSTATSD_URL`: `udp://host[:port]`, `unix:///path` or `unixgram:///path` (the agent's
/// socket is a datagram one under either scheme).
fn parse_url((name, value): &SetVar) -> Result<Agent, ConfigError> {
    let url = value.trim();
    let error = |why: &str| ConfigError::new(name, value, format!("{URL_FORMS}{why}"));
    if let Some(address) = url.strip_prefix("udp://") {
        // The host, and after it nothing or `:port`.
        let (host, port) = match address.strip_prefix('[') {
            Some(bracketed) => bracketed.split_once(']').ok_or_else(|| error(" (an IPv6 address ends with `]`)"))?,
            None if address.matches(':').count() > 1 => return Err(error(" (an IPv6 address goes in brackets)")),
            None => address.find(':').map_or((address, ""), |colon| address.split_at(colon)),
        };
        let port = match port {
            "" => PORT,
            port => port
                .strip_prefix(':')
                .and_then(|port| port.parse().ok())
                .filter(|port| *port > 0)
                .ok_or_else(|| error(" (a port from 1 to 65535)"))?,
        };
        return Ok(Agent::Udp { host: parse_host(name, value, host)?, port });
    }
    let path = url.strip_prefix("unix://").or_else(|| url.strip_prefix("unixgram://"));
    match path {
        #[cfg(unix)]
        Some(path) if path.starts_with('/') => Ok(Agent::Unix(path.into())),
        #[cfg(unix)]
        Some(_) => Err(error(" (the socket's absolute path after the scheme)")),
        #[cfg(not(unix))]
        Some(_) => Err(error(" (Unix sockets are not available on this system)")),
        None => Err(error("")),
    }
}

/// A host name or IP address: not empty, no spaces, no `/`.
fn parse_host(name: &'static str, value: &str, host: &str) -> Result<String, ConfigError> {
    match host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '/') {
        true => Err(ConfigError::new(name, value, "a host name or IP address")),
        false => Ok(host.to_owned()),
    }
}

/// Sends collections to the agent.
#[derive(Debug)]
pub(crate) struct DogStatsdExporter {
    name: String,
    socket: AgentSocket,
    max_payload: usize,
    /// `env:…`, `service:…`, `version:…`, as each line carries them.
    constant_tags: Vec<String>,
    temporalizer: Temporalizer,
    timeout: Duration,
}

impl DogStatsdExporter {
    pub(crate) fn new(settings: DogStatsdSettings, resource: &Resource, timeout: Duration) -> Self {
        let env = resource.environment();
        let tags =
            [("env", env), ("service", Some(resource.service.clone())), ("version", resource.get("service.version"))];
        let constant_tags =
            tags.into_iter().filter_map(|(key, value)| Some(lines::tag(key, &TagValue::from(value?)))).collect();
        Self {
            name: format!("dogstatsd ({})", settings.agent),
            max_payload: settings.agent.max_payload(),
            socket: AgentSocket::new(settings.agent),
            constant_tags,
            // DogStatsD counts are what happened since the previous send.
            temporalizer: Temporalizer::new(Preference::Delta),
            timeout,
        }
    }
}

impl Exporter for DogStatsdExporter {
    type Load = Snapshot;
    type Payload = Vec<Datagram>;

    fn name(&self) -> &str {
        &self.name
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    fn encode(&mut self, snapshot: &Snapshot) -> Vec<Datagram> {
        lines::encode(&self.temporalizer.apply(snapshot), &self.constant_tags, self.max_payload)
    }

    async fn send(&mut self, datagrams: &Vec<Datagram>) -> Result<Sent, ExportError> {
        if datagrams.is_empty() {
            return Ok(Sent::default());
        }
        if let Err(error) = self.socket.connect().await {
            return Err(ExportError::retryable(format!("no agent reached: {error}")));
        }
        let (mut sent, mut dropped, mut gone) = (0, 0, None);
        for datagram in datagrams {
            match self.socket.send(&datagram.text) {
                Ok(()) => sent += 1,
                Err(error) => {
                    dropped += datagram.points;
                    if socket::agent_gone(&error) {
                        gone.get_or_insert(error);
                    }
                }
            }
        }
        if let Some(error) = gone {
            self.socket.disconnect();
            // Nothing went: the whole collection can go again, to an agent that comes back.
            if sent == 0 {
                return Err(ExportError::retryable(format!("no agent reached: {error}")));
            }
        }
        Ok(Sent { rejected: dropped })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(pairs: &[(&str, &str)]) -> Result<Agent, ConfigError> {
        DogStatsdSettings::resolve(&Vars::of(pairs)).map(|settings| settings.agent)
    }

    fn udp(host: &str, port: u16) -> Agent {
        Agent::Udp { host: host.to_owned(), port }
    }

    #[test]
    fn the_url_wins_then_the_dogstatsd_host_then_the_agent_host() {
        assert_eq!(resolve(&[]).unwrap(), udp("localhost", 8125));
        assert_eq!(resolve(&[("DD_AGENT_HOST", "agent"), ("DD_DOGSTATSD_PORT", "9125")]).unwrap(), udp("agent", 9125));
        assert_eq!(
            resolve(&[("DD_AGENT_HOST", "agent"), ("DD_DOGSTATSD_HOST", " statsd ")]).unwrap(),
            udp("statsd", 8125)
        );
        let url =
            |url: &str| resolve(&[("DD_DOGSTATSD_URL", url), ("DD_AGENT_HOST", "agent"), ("DD_DOGSTATSD_PORT", "1")]);
        assert_eq!(url("udp://10.0.0.7:8200").unwrap(), udp("10.0.0.7", 8200));
        assert_eq!(url("udp://statsd").unwrap(), udp("statsd", 8125));
        assert_eq!(url("udp://[::1]:9000").unwrap(), udp("::1", 9000));
        assert_eq!(url("udp://[::1]").unwrap().to_string(), "udp://[::1]:8125");
        #[cfg(unix)]
        for scheme in ["unix", "unixgram"] {
            let agent = url(&format!("{scheme}:///var/run/datadog/dsd.socket")).unwrap();
            assert_eq!(agent, Agent::Unix("/var/run/datadog/dsd.socket".into()));
            assert_eq!((agent.to_string().as_str(), agent.max_payload()), ("unix:///var/run/datadog/dsd.socket", 8192));
        }
        assert_eq!(udp("localhost", 8125).max_payload(), 1432);
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [
            ("DD_DOGSTATSD_URL", "tcp://agent:8125"),
            ("DD_DOGSTATSD_URL", "unixstream:///var/run/dsd.socket"),
            ("DD_DOGSTATSD_URL", "unix://"),
            ("DD_DOGSTATSD_URL", "unix://relative/dsd.socket"),
            ("DD_DOGSTATSD_URL", "udp://"),
            ("DD_DOGSTATSD_URL", "udp://agent:0"),
            ("DD_DOGSTATSD_URL", "udp://agent:65536"),
            ("DD_DOGSTATSD_URL", "udp://agent:port"),
            ("DD_DOGSTATSD_URL", "udp://::1:8125"),
            ("DD_DOGSTATSD_URL", "udp://[::1:8125"),
            ("DD_DOGSTATSD_URL", "udp://agent/path"),
            ("DD_DOGSTATSD_URL", "agent:8125"),
            ("DD_DOGSTATSD_PORT", "0"),
            ("DD_DOGSTATSD_PORT", "65536"),
            ("DD_DOGSTATSD_PORT", "statsd"),
            ("DD_DOGSTATSD_HOST", "two words"),
            ("DD_AGENT_HOST", "agent/8125"),
        ] {
            let err = resolve(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable(), var, "{value}: {err}");
            assert!(err.to_string().contains(value), "{err}");
        }
    }
}

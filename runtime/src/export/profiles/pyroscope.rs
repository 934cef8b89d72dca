//! The Pyroscope exporter: each window's profiles (CPU, allocations) pushed to a Pyroscope server
//! over HTTP or HTTPS, from a profile lane on the reporter thread.
//!
//! Push API (default): `POST {address}/push.v1.PusherService/Push`, body a gzipped
//! `PushRequest` with one series labelled `__name__`, `service_name` and the static
//! `PYROSCOPE_TAGS`, whose one sample is the gzipped pprof. `__name__` is `process_cpu` for CPU
//! profiles and `memory` for allocation profiles, which Pyroscope splits by sample type into
//! `memory:alloc_objects:count:space:bytes`, `memory:alloc_space:bytes:space:bytes`,
//! `memory:inuse_objects:count:space:bytes` and `memory:inuse_space:bytes:space:bytes`, as it does
//! Go's heap profiles. An allocation profile's `alloc_*` values are already per window, so it also
//! carries `__delta__=false`: the server must not take differences of them again. Legacy API
//! (`SPANSCOPE_PYROSCOPE_API=ingest`): `POST {address}/ingest?name=…&from=…&until=…&format=pprof`
//! with the gzipped pprof as body. Basic auth and `X-Scope-OrgID` on both; credentials are never
//! logged. Answers are classified as for every HTTP exporter (`check_status`).
//!
//! A value the server would refuse every time stops start-up instead: a tag key that is no label
//! name (letters, digits, `_`, `.`) or is `__name__` or `service_name`, a user with `:`, a user or
//! password with a control character.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{header, HeaderMap, HeaderName, HeaderValue};
use prost::Message as _;

use crate::config::env::{parse_choice, parse_pairs, PairText, SetVar, Vars};
use crate::config::ConfigError;
use crate::encoding::gzip::{gzip, Compression};
use crate::encoding::percent;
use crate::export::transport::http_client::{self, HttpClient, HttpTarget};
use crate::export::{ExportError, Exporter, Sent};
use crate::profiler::sink::{ProfileKind, ProfileWindow};
use crate::profiler::PyroscopeApi;
use crate::proto::push::v1::{PushRequest, RawProfileSeries, RawSample};
use crate::proto::types::v1::LabelPair;

/// The longest one upload may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Where and how to reach Pyroscope.
#[derive(Debug, Clone)]
pub(crate) struct PyroscopeSettings {
    /// The server's URL, path prefix included, with any extra trusted CA.
    address: HttpTarget,
    api: PyroscopeApi,
    /// `Authorization` (basic) and `X-Scope-OrgID`, marked sensitive.
    pub(crate) headers: HeaderMap,
    /// `PYROSCOPE_TAGS`: static series labels.
    tags: Vec<(String, String)>,
}

impl PyroscopeSettings {
    /// The environment over `configured` (`ProfilerConfig::pyroscope_address`) and defaults.
    pub(crate) fn resolve(vars: &Vars<'_>, configured: Option<String>) -> Result<Self, ConfigError> {
        let (name, url) = vars
            .get("PYROSCOPE_SERVER_ADDRESS")?
            .or(configured.map(|a| ("PYROSCOPE_SERVER_ADDRESS", a)))
            .unwrap_or(("PYROSCOPE_SERVER_ADDRESS", "http://localhost:4040".to_owned()));
        let ca = vars.read("SPANSCOPE_PYROSCOPE_CERTIFICATE", crate::export::transport::tls::read_ca)?;
        let address = HttpTarget::parse(name, &url)?.with_ca(ca);
        let api = vars
            .read("SPANSCOPE_PYROSCOPE_API", |var| {
                parse_choice(var, &[("push", PyroscopeApi::Push), ("ingest", PyroscopeApi::Ingest)])
            })?
            .unwrap_or(PyroscopeApi::Push);
        let mut headers = HeaderMap::new();
        let user = vars.read("PYROSCOPE_BASIC_AUTH_USER", |var| credential(var, true))?;
        let password = vars.read("PYROSCOPE_BASIC_AUTH_PASSWORD", |var| credential(var, false))?;
        let credentials = match (user, password) {
            (Some(user), password) => Some(format!("{user}:{}", password.unwrap_or_default())),
            (None, Some(_)) => {
                return Err(ConfigError::secret(
                    "PYROSCOPE_BASIC_AUTH_PASSWORD",
                    "PYROSCOPE_BASIC_AUTH_USER to be set too",
                ))
            }
            (None, None) => None,
        };
        if let Some(credentials) = credentials {
            headers.insert(header::AUTHORIZATION, http_client::basic_authorization(&credentials));
        }
        if let Some((name, tenant)) = vars.get("PYROSCOPE_TENANT_ID")? {
            let mut value = http_client::header_value(name, tenant.trim())?;
            value.set_sensitive(true);
            headers.insert(HeaderName::from_static("x-scope-orgid"), value);
        }
        let tags = vars.read("PYROSCOPE_TAGS", parse_tags)?.unwrap_or_default();
        Ok(Self { address, api, headers, tags })
    }
}

/// The user (`user`) or the password of HTTP basic authentication, which RFC 7617 keeps free of
/// control characters; a user may not hold `:` either, which would end it. Errors never echo it.
fn credential((name, value): &SetVar, user: bool) -> Result<String, ConfigError> {
    if value.contains(|c: char| c.is_control() || (user && c == ':')) {
        let expected =
            if user { "a user without control characters or `:`" } else { "a password without control characters" };
        return Err(ConfigError::secret(name, expected));
    }
    Ok(value.clone())
}

/// `PYROSCOPE_TAGS`: `key=value` pairs whose keys are label names the server takes (letters,
/// digits, `_` and `.`, as Pyroscope's own clients check them), other than those spanscope sets
/// (`service_name`, which comes from the service name, and the reserved `__`-prefixed ones,
/// `__name__` and `__delta__`); a key given twice keeps its last value.
fn parse_tags(var: &SetVar) -> Result<Vec<(String, String)>, ConfigError> {
    let mut tags: Vec<(String, String)> = Vec::new();
    for (key, value) in parse_pairs(var, PairText::Plain)? {
        let label = key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
        if !label || key.starts_with("__") || key == "service_name" {
            let expected = "keys of letters, digits, `_` and `.`, other than service_name (the service name) and \
                            keys beginning with `__` (reserved)";
            return Err(ConfigError::new(var.0, &var.1, expected));
        }
        tags.retain(|(k, _)| *k != key);
        tags.push((key, value));
    }
    Ok(tags)
}

/// The exporter: one connection to the server, kept alive between windows.
#[derive(Debug)]
pub(crate) struct PyroscopeExporter {
    name: String,
    config: PyroscopeSettings,
    service: String,
    hz: u32,
    /// The server's path prefix, without the trailing slash.
    prefix: String,
    /// `config.headers` and the API's content headers.
    headers: HeaderMap,
    client: HttpClient,
}

/// One request, encoded once and kept for retries.
#[derive(Debug)]
pub(crate) struct Upload {
    /// Path and query.
    target: String,
    body: Bytes,
}

impl PyroscopeExporter {
    pub(crate) fn new(config: PyroscopeSettings, service: String, hz: u32) -> Self {
        let mut headers = config.headers.clone();
        match config.api {
            PyroscopeApi::Push => {
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/proto"));
                headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            PyroscopeApi::Ingest => {
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
            }
        }
        Self {
            name: format!("pyroscope ({})", config.address),
            prefix: config.address.path().trim_end_matches('/').to_owned(),
            client: HttpClient::new(config.address.clone()),
            config,
            service,
            hz,
            headers,
        }
    }

    fn push(&self, window: &ProfileWindow) -> Upload {
        let name = match window.kind {
            ProfileKind::Cpu => "process_cpu",
            ProfileKind::Allocations => "memory",
        };
        let mut labels = vec![
            LabelPair { name: "__name__".into(), value: name.into() },
            LabelPair { name: "service_name".into(), value: self.service.clone() },
        ];
        if window.kind == ProfileKind::Allocations {
            labels.push(LabelPair { name: "__delta__".into(), value: "false".into() });
        }
        // The tags' names are checked at `init`: none is one of the two above, none repeats.
        labels.extend(
            self.config.tags.iter().map(|(name, value)| LabelPair { name: name.clone(), value: value.clone() }),
        );
        let request = PushRequest {
            series: vec![RawProfileSeries {
                labels,
                samples: vec![RawSample { raw_profile: window.gzipped.to_vec(), id: uuid_v4() }],
            }],
        };
        Upload {
            target: format!("{}/push.v1.PusherService/Push", self.prefix),
            // Most of the request is the profile, gzipped already: more effort would gain
            // nothing.
            body: gzip(&request.encode_to_vec(), Compression::fast()).into(),
        }
    }

    fn ingest(&self, window: &ProfileWindow) -> Upload {
        let seconds = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let tags: Vec<String> = self.config.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let name = format!("{}{{{}}}", self.service, tags.join(","));
        Upload {
            target: format!(
                "{}/ingest?name={}&from={}&until={}&format=pprof&sampleRate={}&spyName=spanscope",
                self.prefix,
                percent::encode(&name),
                seconds(window.start),
                seconds(window.end).max(seconds(window.start) + 1),
                self.hz
            ),
            body: window.gzipped.clone(),
        }
    }
}

impl Exporter for PyroscopeExporter {
    type Load = ProfileWindow;
    type Payload = Upload;

    fn name(&self) -> &str {
        &self.name
    }

    fn timeout(&self) -> Duration {
        TIMEOUT
    }

    fn encode(&mut self, window: &ProfileWindow) -> Upload {
        match self.config.api {
            PyroscopeApi::Push => self.push(window),
            PyroscopeApi::Ingest => self.ingest(window),
        }
    }

    async fn send(&mut self, upload: &Upload) -> Result<Sent, ExportError> {
        let answer = self.client.post_to(Some(&upload.target), &self.headers, upload.body.clone()).await?;
        http_client::check_status(&answer)?;
        Ok(Sent::default())
    }
}

/// A random (version 4) UUID naming one upload.
fn uuid_v4() -> String {
    let high = (crate::id::random_u64() & !0xF000) | 0x4000;
    let low = (crate::id::random_u64() & !(0b11 << 62)) | (0b10 << 62);
    let hex = format!("{high:016x}{low:016x}");
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(vars: &[(&str, &str)]) -> Result<PyroscopeSettings, ConfigError> {
        PyroscopeSettings::resolve(&Vars::of(vars), None)
    }

    #[test]
    fn uuids_are_version_4_and_queries_are_encoded() {
        let id = uuid_v4();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
        assert_eq!(percent::encode("svc{env=prod}"), "svc%7Benv%3Dprod%7D");
    }

    #[test]
    fn settings_from_the_environment() {
        let config = resolve(&[]).unwrap();
        assert_eq!((config.address.to_string().as_str(), config.api), ("http://localhost:4040", PyroscopeApi::Push));
        let config = resolve(&[
            ("PYROSCOPE_SERVER_ADDRESS", "https://pyro.internal/base/"),
            ("PYROSCOPE_BASIC_AUTH_USER", "u"),
            ("PYROSCOPE_BASIC_AUTH_PASSWORD", "secret"),
            ("PYROSCOPE_TENANT_ID", "team-a"),
            ("PYROSCOPE_TAGS", "env=prod, region=eu"),
            ("SPANSCOPE_PYROSCOPE_API", "ingest"),
        ])
        .unwrap();
        assert_eq!(config.api, PyroscopeApi::Ingest);
        assert_eq!(config.tags, [("env".into(), "prod".into()), ("region".into(), "eu".into())]);
        assert_eq!(config.headers["x-scope-orgid"], "team-a");
        let exporter = PyroscopeExporter::new(config, "svc".into(), 100);
        assert_eq!(
            (exporter.name.as_str(), exporter.prefix.as_str()),
            ("pyroscope (https://pyro.internal/base/)", "/base")
        );
        assert!(!format!("{exporter:?}").contains("secret") && !format!("{exporter:?}").contains("dTpzZWNyZXQ"));
    }

    #[test]
    fn bad_values_name_their_variable_without_echoing_secrets() {
        for (var, value) in [
            ("PYROSCOPE_SERVER_ADDRESS", "pyro.internal:4040"),
            ("PYROSCOPE_TAGS", "novalue"),
            ("SPANSCOPE_PYROSCOPE_API", "grpc"),
            ("PYROSCOPE_BASIC_AUTH_PASSWORD", "secret"),
            ("PYROSCOPE_TENANT_ID", "bad\ntenant"),
            ("SPANSCOPE_PYROSCOPE_CERTIFICATE", "/nonexistent/ca.pem"),
            ("PYROSCOPE_BASIC_AUTH_USER", "secret:user"),
            ("PYROSCOPE_BASIC_AUTH_USER", "secret\u{1b}[31m"),
            ("PYROSCOPE_TAGS", "service_name=other"),
            ("PYROSCOPE_TAGS", "__name__=memory"),
            ("PYROSCOPE_TAGS", "pod name=a"),
        ] {
            let err = resolve(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable(), var, "{err}");
            assert!(!err.to_string().contains("secret"), "{err}");
        }
        let err = resolve(&[("PYROSCOPE_BASIC_AUTH_USER", "u"), ("PYROSCOPE_BASIC_AUTH_PASSWORD", "secret\r\n")]);
        assert_eq!(err.unwrap_err().variable(), "PYROSCOPE_BASIC_AUTH_PASSWORD");
        let config =
            resolve(&[("PYROSCOPE_TAGS", "env=a,k8s.pod=p-1,env=b"), ("SPANSCOPE_PYROSCOPE_API", "Ingest")]).unwrap();
        assert_eq!(config.tags, [("k8s.pod".into(), "p-1".into()), ("env".into(), "b".into())], "the last value wins");
        assert_eq!(config.api, PyroscopeApi::Ingest);
    }
}

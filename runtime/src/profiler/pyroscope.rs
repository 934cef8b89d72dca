//! The Pyroscope exporter: each window's profile pushed to a Pyroscope server, from a pusher
//! thread of its own, through a bounded queue, with retries.
//!
//! Push API (default): `POST {address}/push.v1.PusherService/Push`, body a gzipped
//! `PushRequest` with one series labelled `__name__=process_cpu`, `service_name` and the static
//! `PYROSCOPE_TAGS`, whose one sample is the gzipped pprof. Legacy API
//! (`SPANSCOPE_PYROSCOPE_API=ingest`): `POST {address}/ingest?name=…&from=…&until=…&format=pprof`
//! with the gzipped pprof as body. Basic auth and `X-Scope-OrgID` on both; credentials are never
//! logged.
//!
//! The collector only enqueues (never waits): when the queue is full the profile is dropped and
//! counted. A failed upload is retried with capped, jittered exponential backoff while the
//! server is unreachable or answers 429/5xx, and dropped and counted when it answers another
//! error or the attempts run out.

use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use prost::Message as _;

use super::http_post::{self, Post};
use super::proto::push::v1::{PushRequest, RawProfileSeries, RawSample};
use super::proto::types::v1::LabelPair;
use super::settings::{PyroscopeApi, PyroscopeSettings};
use super::sink::{Finished, ProfileSink};
use crate::stats::{self, Counter};

/// Profiles waiting for upload at most (each is one window).
const QUEUE: usize = 4;
const ATTEMPTS: u32 = 5;
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(8);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// One request ready to send.
struct Upload {
    target: String,
    content_type: &'static str,
    gzip_body: bool,
    body: Vec<u8>,
}

/// The exporter: the collector's end of the pusher's queue.
#[derive(Debug)]
pub(crate) struct PyroscopeExporter {
    settings: PyroscopeSettings,
    service: String,
    hz: u32,
    queue: Option<SyncSender<(Upload, Instant)>>,
    pusher: Option<JoinHandle<()>>,
    deadline: std::sync::Arc<std::sync::Mutex<Option<Instant>>>,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload").field("target", &self.target).field("bytes", &self.body.len()).finish()
    }
}

impl PyroscopeExporter {
    /// Starts the pusher thread.
    pub(crate) fn start(settings: PyroscopeSettings, service: String, hz: u32) -> std::io::Result<Self> {
        let (queue, uploads) = mpsc::sync_channel::<(Upload, Instant)>(QUEUE);
        let deadline = std::sync::Arc::new(std::sync::Mutex::new(None));
        let headers = headers(&settings);
        let authority = settings.authority.clone();
        let shutdown = deadline.clone();
        let pusher = std::thread::Builder::new().name("spanscope-pyroscope".into()).spawn(move || {
            let mut reported = false;
            for (upload, _) in uploads {
                let until = || *shutdown.lock().unwrap_or_else(|e| e.into_inner());
                match deliver(&authority, &headers, &upload, until) {
                    Ok(()) => stats::add(Counter::ProfilesExported, 1),
                    Err(error) => {
                        stats::add(Counter::ProfilesDropped, 1);
                        if !reported {
                            eprintln!("spanscope: could not push a CPU profile to Pyroscope at {authority}: {error}");
                            reported = true;
                        }
                    }
                }
            }
        })?;
        Ok(Self { settings, service, hz, queue: Some(queue), pusher: Some(pusher), deadline })
    }

    fn upload(&self, window: &Finished) -> Upload {
        match self.settings.api {
            PyroscopeApi::Push => {
                let mut labels = vec![LabelPair { name: "__name__".into(), value: "process_cpu".into() }];
                labels.push(LabelPair { name: "service_name".into(), value: self.service.clone() });
                for (name, value) in &self.settings.tags {
                    if !labels.iter().any(|l| &l.name == name) {
                        labels.push(LabelPair { name: name.clone(), value: value.clone() });
                    }
                }
                let request = PushRequest {
                    series: vec![RawProfileSeries {
                        labels,
                        samples: vec![RawSample { raw_profile: window.gzipped.clone(), id: uuid_v4() }],
                    }],
                };
                Upload {
                    target: format!("{}/push.v1.PusherService/Push", self.settings.prefix),
                    content_type: "application/proto",
                    gzip_body: true,
                    body: super::pprof::gzip(&request.encode_to_vec()),
                }
            }
            PyroscopeApi::Ingest => {
                let seconds = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
                let tags: Vec<String> = self.settings.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let name = format!("{}{{{}}}", self.service, tags.join(","));
                Upload {
                    target: format!(
                        "{}/ingest?name={}&from={}&until={}&format=pprof&sampleRate={}&spyName=spanscope",
                        self.settings.prefix,
                        percent_encode(&name),
                        seconds(window.start),
                        seconds(window.end).max(seconds(window.start) + 1),
                        self.hz
                    ),
                    content_type: "application/octet-stream",
                    gzip_body: false,
                    body: window.gzipped.clone(),
                }
            }
        }
    }
}

impl ProfileSink for PyroscopeExporter {
    fn export(&mut self, window: &Finished) {
        let Some(queue) = &self.queue else { return };
        match queue.try_send((self.upload(window), Instant::now())) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => stats::add(Counter::ProfilesDropped, 1),
        }
    }

    fn shutdown(&mut self, deadline: Instant) {
        *self.deadline.lock().unwrap_or_else(|e| e.into_inner()) = Some(deadline);
        self.queue = None;
        if let Some(pusher) = self.pusher.take() {
            while !pusher.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if pusher.is_finished() {
                let _ = pusher.join();
            } else {
                eprintln!("spanscope: Pyroscope uploads still pending at the shutdown deadline are lost");
            }
        }
    }
}

fn headers(settings: &PyroscopeSettings) -> Vec<(&'static str, String)> {
    let mut headers = Vec::new();
    if let Some(credentials) = &settings.basic_auth {
        headers.push(("Authorization", http_post::basic_authorization(credentials)));
    }
    if let Some(tenant) = &settings.tenant_id {
        headers.push(("X-Scope-OrgID", tenant.clone()));
    }
    headers
}

/// Sends `upload`, retrying while that may help, until the attempts or the shutdown deadline
/// (once one is set) run out.
fn deliver(
    authority: &str,
    headers: &[(&'static str, String)],
    upload: &Upload,
    shutdown: impl Fn() -> Option<Instant>,
) -> Result<(), String> {
    let mut all: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    all.push(("Content-Type", upload.content_type));
    if upload.gzip_body {
        all.push(("Content-Encoding", "gzip"));
    }
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        let timeout = shutdown().map_or(REQUEST_TIMEOUT, |d| d.saturating_duration_since(Instant::now()).min(REQUEST_TIMEOUT));
        let post = Post { authority, target: &upload.target, headers: &all, body: &upload.body, timeout: timeout.max(Duration::from_millis(1)) };
        let error = match http_post::send(&post) {
            Ok(200..=299) => return Ok(()),
            Ok(status @ (429 | 500..=599)) => format!("HTTP {status}"),
            Ok(status) => return Err(format!("HTTP {status} (not retried)")),
            Err(error) => error.to_string(),
        };
        // Full jitter in [backoff/2, backoff), from the id generator (no extra dependency).
        let pause = backoff / 2 + backoff.mul_f64((crate::id::random_u64() % 1000) as f64 / 2000.0);
        let out_of_time = shutdown().is_some_and(|d| Instant::now() + pause >= d);
        if attempt >= ATTEMPTS || out_of_time {
            return Err(format!("{error} after {attempt} attempts"));
        }
        stats::add(Counter::ProfilesRetried, 1);
        std::thread::sleep(pause);
        backoff = (backoff * 2).min(MAX_BACKOFF);
        attempt += 1;
    }
}

/// A random (version 4) UUID naming one upload.
fn uuid_v4() -> String {
    let high = (crate::id::random_u64() & !0xF000) | 0x4000;
    let low = (crate::id::random_u64() & !(0b11 << 62)) | (0b10 << 62);
    let hex = format!("{high:016x}{low:016x}");
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// `text` for a URL query value (RFC 3986 unreserved characters kept).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_4_and_queries_are_encoded() {
        let id = uuid_v4();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
        assert_eq!(percent_encode("svc{env=prod}"), "svc%7Benv%3Dprod%7D");
    }
}

//! The Prometheus pull endpoint (`OTEL_METRICS_EXPORTER=prometheus`): `GET /metrics` on
//! `OTEL_EXPORTER_PROMETHEUS_HOST:OTEL_EXPORTER_PROMETHEUS_PORT` (`localhost:9464`), answering
//! each scrape with a fresh collection, in text 0.0.4 or, when the scraper asks for it,
//! OpenMetrics 1.0 with exemplars.
//!
//! The listener is bound at `init`, so a port in use is a start-up error that names the
//! variables. It serves on a thread of its own, with at most [`MAX_CONNECTIONS`] connections
//! (more are closed at once), a timeout on reading a request's head, and one rendering per
//! format reused for [`REUSE`], so a flood of scrapes costs one collection per half second.
//! Nothing a scraper sends can stop or slow the application.

pub(crate) mod names;
mod text;

use std::io::{self, Write as _};
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;

use crate::config::env::{parse_count, Vars};
use crate::config::ConfigError;
use crate::error::InitError;
use crate::export::resource::Resource;
use crate::metrics::collect::{collect, Collection};
use text::{Exemplars, Format};

/// Connections served at once; more are closed.
const MAX_CONNECTIONS: usize = 32;
/// How long a connection may take to send a request's head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a rendering answers further scrapes.
const REUSE: Duration = Duration::from_millis(500);

/// Where the endpoint listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PrometheusSettings {
    pub host: String,
    /// Zero: any free port (the address is then printed).
    pub port: u16,
}

impl PrometheusSettings {
    pub(crate) fn resolve(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        let host = vars
            .get("OTEL_EXPORTER_PROMETHEUS_HOST")?
            .map_or_else(|| "localhost".to_owned(), |(_, host)| host.trim().to_owned());
        let port = vars.read("OTEL_EXPORTER_PROMETHEUS_PORT", |var| parse_count(var, 0..=u16::MAX))?.unwrap_or(9464);
        Ok(Self { host, port })
    }
}

/// The endpoint's listener, bound at `init`.
#[derive(Debug)]
pub(crate) struct Endpoint {
    listener: TcpListener,
}

impl Endpoint {
    /// Binds `settings`' address: the host's first address that accepts.
    pub(crate) fn bind(settings: &PrometheusSettings) -> Result<Self, InitError> {
        let listen_error = |error: io::Error| listen_error(settings, error);
        let mut last = io::Error::new(io::ErrorKind::AddrNotAvailable, "the host has no address");
        for candidate in (settings.host.as_str(), settings.port).to_socket_addrs().map_err(listen_error)? {
            match TcpListener::bind(candidate) {
                Ok(listener) => return Ok(Self { listener }),
                Err(error) => last = error,
            }
        }
        Err(listen_error(last))
    }

    /// The address scrapers reach.
    pub(crate) fn address(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves scrapes on a thread of its own until the returned server is dropped; each scrape
    /// takes a `collection` (periodic when no other backend starts exemplar intervals).
    pub(crate) fn serve(self, resource: Arc<Resource>, collection: Collection) -> io::Result<Server> {
        self.listener.set_nonblocking(true)?;
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let scrapes = Arc::new(Scrapes { resource, collection, state: Mutex::new(ScrapeState::default()) });
        let listener = self.listener;
        let thread = crate::sys::threads::spawn("spanscope-prometheus", move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(error) => return stderr_line!("spanscope: the Prometheus endpoint cannot start: {error}"),
            };
            runtime.block_on(accept(listener, scrapes, stopped));
        })?;
        Ok(Server { stop: Some(stop), thread: Some(thread) })
    }
}

/// The serving endpoint; dropping it stops it.
#[derive(Debug)]
pub(crate) struct Server {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The error of an endpoint that cannot listen on `settings`' address.
pub(crate) fn listen_error(settings: &PrometheusSettings, error: io::Error) -> InitError {
    InitError::Listen {
        address: format!("{}:{}", settings.host, settings.port),
        variables: "OTEL_EXPORTER_PROMETHEUS_HOST, OTEL_EXPORTER_PROMETHEUS_PORT",
        error,
    }
}

/// What scrapes share: the resource, the exemplars shown, the last renderings.
struct Scrapes {
    resource: Arc<Resource>,
    collection: Collection,
    state: Mutex<ScrapeState>,
}

#[derive(Default)]
struct ScrapeState {
    exemplars: Exemplars,
    rendered: Vec<(Format, Instant, Bytes)>,
}

async fn accept(listener: TcpListener, scrapes: Arc<Scrapes>, mut stopped: tokio::sync::oneshot::Receiver<()>) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(error) => return stderr_line!("spanscope: the Prometheus endpoint cannot listen: {error}"),
    };
    let connections = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let stream = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of descriptors, or a connection reset before it was taken: try again soon.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let scrapes = scrapes.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let scrapes = scrapes.clone();
                async move { Ok::<_, std::convert::Infallible>(respond(&scrapes, &request)) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEAD_TIMEOUT)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
            drop(permit);
        });
    }
}

fn respond(scrapes: &Scrapes, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    let status = |status: StatusCode| {
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = status;
        response
    };
    if request.uri().path() != "/metrics" {
        return status(StatusCode::NOT_FOUND);
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = status(StatusCode::METHOD_NOT_ALLOWED);
        response.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let headers = request.headers();
    let format = negotiate(headers.get(header::ACCEPT).and_then(|value| value.to_str().ok()).unwrap_or(""));
    let gzip = headers.get(header::ACCEPT_ENCODING).and_then(|value| value.to_str().ok()).is_some_and(|value| {
        value.split(',').any(|coding| coding.split(';').next().is_some_and(|c| c.trim() == "gzip"))
    });
    let body = render(scrapes, format);
    let mut response = Response::new(Full::new(Bytes::new()));
    let response_headers = response.headers_mut();
    response_headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static(format.content_type()));
    let body = match gzip.then(|| compress(&body)).and_then(Result::ok) {
        Some(compressed) => {
            response_headers.insert(header::CONTENT_ENCODING, header::HeaderValue::from_static("gzip"));
            Bytes::from(compressed)
        }
        None => body,
    };
    if request.method() == Method::GET {
        *response.body_mut() = Full::new(body);
    }
    response
}

/// The snapshot in `format`: a rendering younger than [`REUSE`], or a new collection.
fn render(scrapes: &Scrapes, format: Format) -> Bytes {
    let mut state = scrapes.state.lock().unwrap_or_else(PoisonError::into_inner);
    let now = Instant::now();
    if let Some((_, _, body)) = state.rendered.iter().find(|(f, at, _)| *f == format && now.duration_since(*at) < REUSE)
    {
        return body.clone();
    }
    let snapshot = collect(scrapes.collection);
    let mut out = String::with_capacity(16 * 1024);
    text::encode(&snapshot, &scrapes.resource, format, &mut state.exemplars, &mut out);
    let body = Bytes::from(out);
    state.rendered.retain(|(f, _, _)| *f != format);
    state.rendered.push((format, now, body.clone()));
    body
}

fn compress(body: &[u8]) -> io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4), flate2::Compression::fast());
    encoder.write_all(body)?;
    encoder.finish()
}

/// OpenMetrics when the `Accept` header asks for it (version absent, `1.0.0` or `0.0.1`) at
/// least as much as for the text format; else text 0.0.4.
fn negotiate(accept: &str) -> Format {
    let (mut open_metrics, mut text) = (0.0f32, 0.0f32);
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let (mut q, mut version) = (1.0f32, None);
        for parameter in parts {
            match parameter.split_once('=').map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().trim_matches('"'))) {
                Some((key, value)) if key == "q" => q = value.parse().unwrap_or(0.0),
                Some((key, value)) if key == "version" => version = Some(value.to_owned()),
                _ => {}
            }
        }
        match media.as_str() {
            "application/openmetrics-text" if matches!(version.as_deref(), None | Some("1.0.0" | "0.0.1")) => {
                open_metrics = open_metrics.max(q);
            }
            "text/plain" => text = text.max(q),
            _ => {}
        }
    }
    if open_metrics > 0.0 && open_metrics >= text {
        Format::OpenMetrics
    } else {
        Format::Text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_is_what_the_scraper_prefers() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(negotiate(prometheus), Format::OpenMetrics);
        assert_eq!(negotiate(""), Format::Text);
        assert_eq!(negotiate("*/*"), Format::Text);
        assert_eq!(negotiate("text/plain;version=0.0.4"), Format::Text);
        assert_eq!(negotiate("application/openmetrics-text;version=2.0.0"), Format::Text);
        assert_eq!(negotiate("application/openmetrics-text;q=0.2,text/plain;q=0.5"), Format::Text);
        assert_eq!(negotiate("application/openmetrics-text;q=0"), Format::Text);
        assert_eq!(negotiate("application/openmetrics-text; q=oops"), Format::Text);
    }

    #[test]
    fn settings_default_to_localhost_9464_and_name_a_bad_port() {
        let settings = PrometheusSettings::resolve(&Vars::of(&[])).unwrap();
        assert_eq!(settings, PrometheusSettings { host: "localhost".into(), port: 9464 });
        let error = PrometheusSettings::resolve(&Vars::of(&[("OTEL_EXPORTER_PROMETHEUS_PORT", "99999")])).unwrap_err();
        assert!(error.to_string().contains("OTEL_EXPORTER_PROMETHEUS_PORT"), "{error}");
    }

    #[test]
    fn a_port_in_use_is_an_error_naming_the_variables() {
        let taken = Endpoint::bind(&PrometheusSettings { host: "127.0.0.1".into(), port: 0 }).unwrap();
        let port = taken.address().unwrap().port();
        let error = Endpoint::bind(&PrometheusSettings { host: "127.0.0.1".into(), port }).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains(&format!("127.0.0.1:{port}")) && message.contains("OTEL_EXPORTER_PROMETHEUS_PORT"),
            "{message}"
        );
    }
}

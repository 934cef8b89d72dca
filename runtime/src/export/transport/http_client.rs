//! A small HTTP/1.1 client for the HTTP exporters (OTLP/HTTP, the Datadog agent, Pyroscope): one
//! kept-alive connection over TCP, TLS (rustls) or a Unix socket, reopened after any error. Response
//! bodies are read up to a bound, so a misbehaving server cannot make it allocate without end;
//! the status is the answer whatever the body, so a 2xx with a body too long to read, or cut
//! short, is still a delivery and is never sent again.

use std::path::PathBuf;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{header, HeaderMap, HeaderValue, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

use super::tls;
use crate::config::env::is_header_text;
use crate::config::ConfigError;
use crate::export::ExportError;

/// Response bodies longer than this are cut (the exporters only read small JSON or protobuf
/// acknowledgements, and the start of an error's text).
const MAX_BODY: usize = 1 << 20;

/// Where requests go.
#[derive(Debug, Clone)]
pub(crate) struct HttpTarget {
    address: Address,
    /// The `Host` header.
    authority: String,
    /// The request path (and query).
    path: String,
    /// Extra trusted CA certificates (PEM), for `https`.
    ca: Option<Vec<u8>>,
    /// The URL as shown in messages.
    shown: String,
}

#[derive(Debug, Clone)]
enum Address {
    Tcp { host: String, port: u16, tls: bool },
    Unix(PathBuf),
}

impl HttpTarget {
    /// Parses `http://host[:port]/path`, `https://...` or `unix:///socket/path`; an error names
    /// the variable `name` the URL came from.
    pub(crate) fn parse(name: &'static str, url: &str) -> Result<Self, ConfigError> {
        let url = url.trim();
        if let Some(path) = url.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(ConfigError::new(name, url, "unix:///path/to/socket"));
            }
            return Ok(Self {
                address: Address::Unix(PathBuf::from(path)),
                authority: "localhost".to_owned(),
                path: "/".to_owned(),
                ca: None,
                shown: url.to_owned(),
            });
        }
        let invalid = || ConfigError::new(name, url, "an http:// or https:// URL, or unix:///path");
        let uri: Uri = url.parse().map_err(|_| invalid())?;
        let tls = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(invalid()),
        };
        let authority = uri.authority().ok_or_else(invalid)?;
        // Anywhere in the URL, not only in what parsed as the authority: a password holding a
        // `/` or `?` ends the authority early and would be shown as the path.
        if url.contains('@') {
            return Err(ConfigError::secret(
                name,
                "a URL without user information (credentials go in their own variables)",
            ));
        }
        let host = authority.host().trim_start_matches('[').trim_end_matches(']').to_owned();
        // What follows the host (past an IPv6 literal's `]`): `Uri` accepts any text there, and
        // a port that is not one must not quietly become the scheme's default.
        let after_host = authority.as_str().rsplit_once(']').map_or(authority.as_str(), |(_, rest)| rest);
        let port = match after_host.rsplit_once(':') {
            None => {
                if tls {
                    443
                } else {
                    80
                }
            }
            Some((_, port)) => match port.parse::<u16>() {
                Ok(port) if port > 0 => port,
                _ => return Err(ConfigError::new(name, url, "a port from 1 to 65535 after the host")),
            },
        };
        Ok(Self {
            address: Address::Tcp { host, port, tls },
            authority: authority.as_str().to_owned(),
            path: uri.path_and_query().map_or("/", |p| p.as_str()).to_owned(),
            ca: None,
            shown: url.to_owned(),
        })
    }

    /// The same server, another path.
    pub(crate) fn with_path(mut self, path: &str) -> Self {
        self.shown = match &self.address {
            Address::Unix(socket) => format!("unix://{}{path}", socket.display()),
            Address::Tcp { tls, .. } => format!("{}://{}{path}", if *tls { "https" } else { "http" }, self.authority),
        };
        self.path = path.to_owned();
        self
    }

    /// The request path (and query) of the URL.
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// Trusts the certificates in `ca` too.
    pub(crate) fn with_ca(mut self, ca: Option<Vec<u8>>) -> Self {
        self.ca = ca;
        self
    }
}

impl std::fmt::Display for HttpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

/// An answer: status, headers and (bounded) body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// One connection's worth of client.
pub(crate) struct HttpClient {
    target: HttpTarget,
    tls: Option<TlsConnector>,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient").field("target", &self.target).field("connected", &self.sender.is_some()).finish()
    }
}

impl HttpClient {
    pub(crate) fn new(target: HttpTarget) -> Self {
        let tls = matches!(target.address, Address::Tcp { tls: true, .. })
            .then(|| TlsConnector::from(tls::client_config(target.ca.as_deref())));
        Self { target, tls, sender: None }
    }

    /// POSTs `body` with `headers` to the target's path. Any failure to get an answer is
    /// retryable.
    pub(crate) async fn post(&mut self, headers: &HeaderMap, body: Bytes) -> Result<Answer, ExportError> {
        self.post_to(None, headers, body).await
    }

    /// Like [`post`](Self::post), to `path` (and query) on the same server when given.
    pub(crate) async fn post_to(
        &mut self,
        path: Option<&str>,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Result<Answer, ExportError> {
        let result = self.try_post(path, headers, body).await;
        if result.is_err() {
            // The connection may be broken; the next attempt opens a new one.
            self.sender = None;
        }
        result.map_err(ExportError::retryable)
    }

    async fn try_post(&mut self, path: Option<&str>, headers: &HeaderMap, body: Bytes) -> Result<Answer, String> {
        let mut sender = match self.sender.take() {
            Some(mut sender) => match sender.ready().await {
                Ok(()) => sender,
                Err(_) => self.connect().await?,
            },
            None => self.connect().await?,
        };
        let mut request = Request::post(path.unwrap_or(&self.target.path))
            .header(header::HOST, self.target.authority.as_str())
            .body(Full::new(body))
            .map_err(|e| e.to_string())?;
        request.headers_mut().extend(headers.iter().map(|(k, v)| (k.clone(), v.clone())));
        let response = sender.send_request(request).await.map_err(|e| format!("{} failed: {e}", self.target))?;
        let (parts, body) = response.into_parts();
        let (body, whole) = read_bounded(body).await;
        // A connection whose answer was not read to its end cannot carry the next request.
        if whole {
            self.sender = Some(sender);
        }
        Ok(Answer { status: parts.status, headers: parts.headers, body })
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, String> {
        let failed = |e: std::io::Error| format!("cannot connect to {}: {e}", self.target);
        match &self.target.address {
            Address::Tcp { host, port, .. } => {
                let stream = tokio::net::TcpStream::connect((host.as_str(), *port)).await.map_err(failed)?;
                let _ = stream.set_nodelay(true);
                match &self.tls {
                    None => handshake(stream).await,
                    Some(tls) => {
                        let name = ServerName::try_from(host.clone()).map_err(|e| format!("{host}: {e}"))?;
                        let stream = tls.connect(name, stream).await.map_err(failed)?;
                        handshake(stream).await
                    }
                }
            }
            #[cfg(unix)]
            Address::Unix(path) => handshake(tokio::net::UnixStream::connect(path).await.map_err(failed)?).await,
            #[cfg(not(unix))]
            Address::Unix(_) => Err("unix sockets are not supported on this platform".to_owned()),
        }
    }
}

/// Reads a body up to [`MAX_BODY`] bytes: what was read, and whether that was all of it (not
/// cut at the bound, nor by an error).
async fn read_bounded(mut body: hyper::body::Incoming) -> (Bytes, bool) {
    let mut read = BytesMut::new();
    loop {
        match body.frame().await {
            None => return (read.freeze(), true),
            Some(Ok(frame)) => {
                let Ok(data) = frame.into_data() else { continue };
                let room = MAX_BODY - read.len();
                if data.len() > room {
                    read.extend_from_slice(&data[..room]);
                    return (read.freeze(), false);
                }
                read.extend_from_slice(&data);
            }
            Some(Err(_)) => return (read.freeze(), false),
        }
    }
}

async fn handshake<T>(io: T) -> Result<SendRequest<Full<Bytes>>, String>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = http1::handshake(TokioIo::new(io)).await.map_err(|e| e.to_string())?;
    // The connection task ends when the sender is dropped or the server closes.
    tokio::task::spawn_local(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// What an HTTP status means for the lane, per the OTLP/HTTP specification (which the Datadog
/// agent's answers fit too): 2xx delivered; 429, 502, 503, 504 (and 408) retryable, honouring
/// `Retry-After` in seconds; 401 and 403 credentials; anything else a final rejection.
pub(crate) fn check_status(answer: &Answer) -> Result<(), ExportError> {
    let status = answer.status;
    if status.is_success() {
        return Ok(());
    }
    // All of it: the line that shows it hides credentials before it bounds its length
    // (`stderr_line!`), so a cut never leaves part of an echoed secret.
    let text = String::from_utf8_lossy(&answer.body).trim().to_owned();
    let reason = if text.is_empty() { format!("HTTP {status}") } else { format!("HTTP {status}: {text}") };
    Err(match status.as_u16() {
        401 | 403 => ExportError::Unauthorized(format!("HTTP {status}")),
        408 | 429 | 502 | 503 | 504 => ExportError::Retryable { reason, after: retry_after(&answer.headers) },
        _ => ExportError::Rejected(reason),
    })
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

/// The `Authorization` value for HTTP basic authentication with `user:password`: "Basic " and
/// the credentials in standard Base64 with padding (RFC 7617), marked sensitive.
pub(crate) fn basic_authorization(credentials: &str) -> HeaderValue {
    let mut text = String::from("Basic ");
    crate::encoding::base64::encode_into(credentials.as_bytes(), &mut text);
    // Base64 is visible ASCII, so this cannot fail; if it did, no header beats a wrong one.
    let mut value = HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""));
    value.set_sensitive(true);
    value
}

/// A header value from configuration text; an error names the variable.
pub(crate) fn header_value(name: &'static str, value: &str) -> Result<HeaderValue, ConfigError> {
    let invalid = || ConfigError::new(name, value, "header values of visible ASCII");
    if !is_header_text(value) {
        return Err(invalid());
    }
    HeaderValue::from_str(value).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_errors_name_the_variable() {
        let target = HttpTarget::parse("X", "http://localhost:4318/v1/traces").unwrap();
        assert_eq!(target.path, "/v1/traces");
        assert_eq!(target.to_string(), "http://localhost:4318/v1/traces");
        let target = HttpTarget::parse("X", "https://[::1]").unwrap().with_path("/v0.4/traces");
        assert_eq!(target.to_string(), "https://[::1]/v0.4/traces");
        assert!(matches!(target.address, Address::Tcp { port: 443, tls: true, ref host } if host == "::1"));
        let target = HttpTarget::parse("X", "unix:///var/run/datadog/apm.socket").unwrap().with_path("/v0.4/traces");
        assert_eq!(target.to_string(), "unix:///var/run/datadog/apm.socket/v0.4/traces");
        assert!(matches!(
            HttpTarget::parse("X", "http://[::1]:4318").unwrap().address,
            Address::Tcp { port: 4318, .. }
        ));
        for bad in [
            "localhost:4318",
            "ftp://x",
            "http://user:pw@host/",
            "http://user:p/w@host/",
            "unix://",
            "http://localhost:abc",
            "http://localhost:0",
            "http://localhost:65536",
            "http://localhost:",
            "http://[::1]:x",
        ] {
            assert_eq!(HttpTarget::parse("X", bad).unwrap_err().variable(), "X", "{bad}");
        }
    }

    #[test]
    fn basic_authorization_is_rfc_7617_and_sensitive() {
        assert_eq!(basic_authorization("Aladdin:open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert_eq!(basic_authorization("user:pass"), "Basic dXNlcjpwYXNz");
        assert_eq!(basic_authorization("u:"), "Basic dTo=");
        assert!(basic_authorization("u:p").is_sensitive());
    }
}

//! A Pyroscope receiver over HTTP or HTTPS: answers each request with the next of a list of
//! statuses (then 200) and passes every request on to the test, which decodes it.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{mpsc, Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming as Body;

use super::tls::{Acceptor, SelfSigned};
use super::{serve_http, Server};

/// One request as received.
#[derive(Debug)]
pub struct Received {
    /// Path and query.
    pub target: String,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A running receiver.
#[derive(Debug)]
pub struct Receiver {
    pub requests: mpsc::Receiver<Received>,
    url: String,
    _server: Server,
}

impl Receiver {
    /// Over plain HTTP, answering with `statuses` first.
    pub fn http(statuses: Vec<StatusCode>) -> Receiver {
        Self::start(statuses, None)
    }

    /// Over HTTPS with `cert`, for `https://localhost:<port>`.
    pub fn https(cert: &SelfSigned) -> Receiver {
        Self::start(Vec::new(), Some(Acceptor::new(cert)))
    }

    /// The URL to set as `PYROSCOPE_SERVER_ADDRESS`.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn start(statuses: Vec<StatusCode>, tls: Option<Acceptor>) -> Receiver {
        let (sender, requests) = mpsc::channel();
        let shared = Arc::new(Mutex::new((VecDeque::from(statuses), sender)));
        let https = tls.is_some();
        let server = Server::start("127.0.0.1:0".parse().unwrap(), move |listener| async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = Arc::clone(&shared);
                let tls = tls.clone();
                tokio::spawn(serve_http(stream, tls, move |request| handle(request, Arc::clone(&shared))));
            }
        });
        let url =
            if https { format!("https://localhost:{}", server.addr.port()) } else { format!("http://{}", server.addr) };
        Receiver { requests, url, _server: server }
    }
}

type Shared = Arc<Mutex<(VecDeque<StatusCode>, mpsc::Sender<Received>)>>;

async fn handle(request: Request<Body>, shared: Shared) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let target = parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
    let mut shared = shared.lock().unwrap();
    let status = shared.0.pop_front().unwrap_or(StatusCode::OK);
    let _ = shared.1.send(Received { target, headers: parts.headers, body });
    Ok(Response::builder().status(status).body(Full::new(Bytes::new())).unwrap())
}

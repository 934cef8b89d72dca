//! A Pyroscope receiver over HTTP or HTTPS: answers each request with the next of a list of
//! statuses (then 200) and passes every request on to the test, which decodes it (a push with
//! [`Received::pushed`]).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{mpsc, Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming as Body;
use prost::Message as _;
use spanscope::profiler::proto::push::v1::PushRequest;

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

    /// Decodes a request of the push API, checking its target and headers, and that it holds one
    /// series with one profile, named by a UUID.
    pub fn pushed(&self) -> Pushed {
        assert_eq!(self.target, "/push.v1.PusherService/Push");
        assert_eq!(self.header("content-type"), Some("application/proto"));
        assert_eq!(self.header("content-encoding"), Some("gzip"));
        let request = PushRequest::decode(crate::profiles::gunzip(&self.body).as_slice()).expect("a PushRequest");
        let [series] = request.series.as_slice() else { panic!("one series: {request:?}") };
        let [sample] = series.samples.as_slice() else { panic!("one profile") };
        assert_eq!(sample.id.len(), 36, "a UUID");
        let labels = series.labels.iter().map(|l| (l.name.clone(), l.value.clone())).collect();
        Pushed { labels, profile: sample.raw_profile.clone() }
    }
}

/// The one series of a push.
#[derive(Debug)]
pub struct Pushed {
    /// Its labels, in the order sent.
    pub labels: Vec<(String, String)>,
    /// Its profile: gzipped pprof.
    pub profile: Vec<u8>,
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

//! A Datadog agent stand-in: `POST /v0.4/traces`, msgpack decoded with `rmpv` (independently of
//! the runtime's encoder), recording every span as a map.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming as Body;
use rmpv::Value;

use super::{serve_http, Server};

/// One received span: its fields by name.
pub type DdSpan = BTreeMap<String, Value>;

/// Everything the agent got.
#[derive(Debug, Default)]
pub struct Received {
    /// Each request's chunks, each chunk's spans.
    pub traces: Vec<Vec<DdSpan>>,
    pub headers: Vec<HeaderMap>,
}

impl Received {
    pub fn spans(&self) -> impl Iterator<Item = &DdSpan> {
        self.traces.iter().flatten()
    }
}

#[derive(Debug)]
pub struct Agent {
    pub received: Arc<Mutex<Received>>,
    server: Server,
}

impl Agent {
    pub fn start() -> Agent {
        let received = Arc::new(Mutex::new(Received::default()));
        let shared = Arc::clone(&received);
        let server = Server::start("127.0.0.1:0".parse().unwrap(), move |listener| async move {
            while let Ok((stream, _)) = listener.accept().await {
                let received = Arc::clone(&shared);
                tokio::spawn(serve_http(stream, None, move |request| handle(request, Arc::clone(&received))));
            }
        });
        Agent { received, server }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }
}

async fn handle(request: Request<Body>, received: Arc<Mutex<Received>>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    assert_eq!(parts.uri.path(), "/v0.4/traces");
    let value = rmpv::decode::read_value(&mut &body[..]).expect("msgpack body");
    let chunks = value.as_array().expect("an array of traces").clone();
    let mut received = received.lock().unwrap();
    received.headers.push(parts.headers);
    for chunk in chunks {
        let spans = chunk
            .as_array()
            .expect("a trace is an array of spans")
            .iter()
            .map(|span| {
                span.as_map()
                    .expect("a span is a map")
                    .iter()
                    .map(|(k, v)| (k.as_str().expect("string keys").to_owned(), v.clone()))
                    .collect()
            })
            .collect();
        received.traces.push(spans);
    }
    Ok(Response::new(Full::new(Bytes::from_static(br#"{"rate_by_service":{}}"#))))
}

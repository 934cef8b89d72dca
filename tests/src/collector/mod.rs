//! In-process collectors that speak the real protocols on loopback, for the exporter tests.
//!
//! Each collector runs on a tokio runtime of its own, so a test can stop it (dropping the
//! runtime closes the listener and every connection, as a crashed backend would) and start it
//! again on the same address.

pub mod datadog;
pub mod otlp;
pub mod pyroscope;
pub mod shop;
pub mod skywalking;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};

/// Serves one HTTP/1.1 connection with `handle`, over TLS when `tls` is given (a failed
/// handshake just closes the connection): the HTTP side of every receiver here.
pub async fn serve_http<H, F>(stream: TcpStream, tls: Option<tls::Acceptor>, handle: H)
where
    H: Fn(http::Request<hyper::body::Incoming>) -> F,
    F: Future<Output = Result<http::Response<http_body_util::Full<bytes::Bytes>>, std::convert::Infallible>>,
{
    let service = hyper::service::service_fn(handle);
    let http1 = hyper::server::conn::http1::Builder::new();
    match tls {
        None => {
            let _ = http1.serve_connection(hyper_util::rt::TokioIo::new(stream), service).await;
        }
        Some(tls) => {
            if let Ok(stream) = tls.accept(stream).await {
                let _ = http1.serve_connection(hyper_util::rt::TokioIo::new(stream), service).await;
            }
        }
    }
}

/// A server running on its own runtime.
#[derive(Debug)]
pub struct Server {
    runtime: Option<tokio::runtime::Runtime>,
    pub addr: SocketAddr,
}

impl Server {
    /// Binds `addr` (port 0 for any) and runs `serve` with the listener.
    pub fn start<F, Fut>(addr: SocketAddr, serve: F) -> Server
    where
        F: FnOnce(TcpListener) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("collector runtime");
        let listener = runtime.block_on(async {
            // The address may be held for a moment by the previous server's sockets.
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                match TcpListener::bind(addr).await {
                    Ok(listener) => break listener,
                    Err(e) if Instant::now() < deadline => {
                        let _ = e;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Err(e) => panic!("cannot bind {addr}: {e}"),
                }
            }
        });
        let addr = listener.local_addr().expect("bound address");
        runtime.spawn(serve(listener));
        Server { runtime: Some(runtime), addr }
    }

    /// Stops the server: the listener and every connection close.
    pub fn stop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A free loopback address (bound then released) for a collector that starts later.
pub fn free_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address")
}

/// A server that accepts connections and never reads or answers.
pub fn black_hole() -> Server {
    Server::start("127.0.0.1:0".parse().unwrap(), |listener| async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    })
}

/// Runs the tests of one binary one at a time: spanscope is process-wide.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Polls `condition` until it holds; panics with `what` after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The running exporter of `signal`'s counts.
///
/// # Panics
/// If no exporter of `signal` runs.
pub fn exporter_of(signal: spanscope::Signal) -> spanscope::ExporterStats {
    spanscope::stats().exporters.into_iter().find(|e| e.signal == signal).expect("an exporter of the signal")
}

/// With `signal`'s one backend down in `guard`'s run: a flush cannot finish while the
/// application goes on (`more` runs 10,000 times once a send has failed, meanwhile), and nothing
/// is exported. Returns the stats after shutdown and that exporter's counts.
///
/// # Panics
/// If the flush says it delivered everything, or anything was exported.
pub fn shut_down_while_down(
    guard: spanscope::Guard,
    signal: spanscope::Signal,
    more: impl Fn(),
) -> (spanscope::Stats, spanscope::ExporterStats) {
    let flush = std::thread::spawn(spanscope::flush);
    wait_until("a failed attempt", Duration::from_secs(60), || exporter_of(signal).retried > 0);
    for _ in 0..10_000 {
        more();
    }
    drop(guard);
    assert!(!flush.join().expect("flush"), "the flush says not everything was delivered");
    let after = spanscope::stats();
    let exporter = after.exporters.iter().find(|e| e.signal == signal).expect("an exporter of the signal").clone();
    assert_eq!(exporter.exported, 0, "{exporter:?}");
    (after, exporter)
}

/// A listener's connections as the stream a tonic server serves.
#[derive(Debug)]
pub struct Incoming(pub TcpListener);

impl tonic::codegen::tokio_stream::Stream for Incoming {
    type Item = std::io::Result<TcpStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_accept(cx).map(|accepted| Some(accepted.map(|(stream, _)| stream)))
    }
}

/// Initialises spanscope with one exporter, a short batching delay and `vars` as the
/// environment defaults (`Config::var`).
pub fn init(exporter: spanscope::TracesExporter, vars: &[(&str, String)]) -> spanscope::Guard {
    let mut config = spanscope::Config::new()
        .service_name("checkout")
        .out_dir(crate::fresh_dir("profiles"))
        .exporters([exporter])
        .schedule_delay(Duration::from_millis(20));
    for (name, value) in vars {
        config = config.var(*name, value.clone());
    }
    spanscope::try_init(config).expect("spanscope init")
}

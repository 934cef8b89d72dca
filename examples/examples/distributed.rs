//! Two services over real HTTP on loopback, in two processes: `checkout` calls `inventory`.
//!
//! ```text
//! OTEL_TRACES_EXPORTER=console cargo run --example distributed
//! ```
//!
//! The caller's `#[exit(peer, inject)]` writes the trace context into the request (W3C
//! `traceparent` and `baggage` by default); the callee's `#[entry(headers)]` continues it. Both
//! processes write to the same `spanscope-out/traces.jsonl`: one trace, the callee's entry span a
//! child of the caller's exit span. With SkyWalking's `sw8` propagated too
//! (`OTEL_PROPAGATORS=tracecontext,baggage,sw8`, the default when reporting to SkyWalking), the
//! callee's link also names the caller's SkyWalking service, instance, endpoint and segment.
//!
//! The example starts `inventory` as a child process of itself (`distributed inventory`), so
//! each service has its own name, instance and segments, as in production.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use spanscope::{entry, exit, local};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

type Error = Box<dyn std::error::Error + Send + Sync>;

spanscope::tags! {
    pub route: &'static str = "http.route",
    pub status: u16 = "http.response.status_code",
}

// ---- inventory: the callee ----

#[entry(name = "GET /stock/{item}", headers = request.headers(), tags(route = "/stock/{item}"))]
async fn stock(request: Request<Incoming>) -> Response<Full<Bytes>> {
    let item = request.uri().path().trim_start_matches("/stock/").to_owned();
    Response::new(Full::new(Bytes::from(count(&item).to_string())))
}

#[local]
fn count(item: &str) -> u64 {
    item.bytes().map(u64::from).sum::<u64>() % 17
}

/// Serves until standard input closes (the parent's way of saying "stop"), then returns, so
/// `main` returns and spanscope flushes this process's spans.
async fn serve_inventory() -> Result<(), Error> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    // The parent reads the port from our first line of output.
    println!("{}", listener.local_addr()?.port());
    let accept = async {
        loop {
            let (stream, _) = listener.accept().await?;
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|request| async {
                    Ok::<_, std::convert::Infallible>(stock(request).await)
                });
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    };
    let stop = async { tokio::io::copy(&mut tokio::io::stdin(), &mut tokio::io::sink()).await };
    tokio::select! {
        result = accept => result,
        _ = stop => Ok(()),
    }
}

// ---- checkout: the caller ----

#[entry(name = "POST /checkout", tags(route = "/checkout"))]
async fn checkout(inventory: SocketAddr, items: &[&str]) -> Result<u64, Error> {
    let mut total = 0;
    for item in items {
        let request = Request::get(format!("http://{inventory}/stock/{item}")).body(Empty::<Bytes>::new())?;
        total += call_inventory(inventory, request).await?;
    }
    Ok(total)
}

#[exit(peer = inventory, inject = request.headers_mut(), tags(route = "/stock/{item}"))]
async fn call_inventory(inventory: SocketAddr, mut request: Request<Empty<Bytes>>) -> Result<u64, Error> {
    let stream = TcpStream::connect(inventory).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let response = sender.send_request(request).await?;
    spanscope::current().tag::<status>(response.status().as_u16());
    let body = response.into_body().collect().await?.to_bytes();
    Ok(std::str::from_utf8(&body)?.trim().parse()?)
}

/// Starts `inventory` as a child process and waits for its port; the rest of its output is
/// passed through until it exits.
async fn start_inventory() -> Result<(Child, SocketAddr, JoinHandle<std::io::Result<u64>>), Error> {
    let mut child = Command::new(std::env::current_exe()?)
        .arg("inventory")
        .env("OTEL_SERVICE_NAME", "inventory")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = tokio::process::ChildStdout::from_std(child.stdout.take().ok_or("no stdout")?)?;
    let mut stdout = BufReader::new(stdout);
    let mut port = String::new();
    stdout.read_line(&mut port).await?;
    let passthrough = tokio::spawn(async move { tokio::io::copy(&mut stdout, &mut tokio::io::stdout()).await });
    Ok((child, SocketAddr::from(([127, 0, 0, 1], port.trim().parse::<u16>()?)), passthrough))
}

#[spanscope::main(service = "checkout")]
async fn main() -> Result<(), Error> {
    if std::env::args().nth(1).as_deref() == Some("inventory") {
        return serve_inventory().await;
    }
    let (mut inventory, address, output) = start_inventory().await?;
    let result = checkout(address, &["book", "lamp", "pen"]).await;
    // Closing its standard input tells `inventory` to stop; it flushes its spans as it exits.
    drop(inventory.stdin.take());
    inventory.wait()?;
    output.await??;
    println!("checkout: {} items in stock", result?);
    Ok(())
}

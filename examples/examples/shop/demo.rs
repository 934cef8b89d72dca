//! The demo: starts the three services as child processes of this one, drives checkouts through
//! frontend, stops the services, and prints the report. This process is not instrumented: the
//! trace of each checkout starts at frontend.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use crate::exporters::Exporters;
use crate::report;
use crate::serve::Role;
use crate::Error;

/// The tenants and items the checkouts cycle through (`inventory` knows them all).
const TENANTS: [&str; 4] = ["acme", "globex", "initech", "umbrella"];
const ITEMS: [&str; 5] = ["book", "lamp", "pen", "desk", "chair"];
/// Checkouts in flight at once.
const CONCURRENCY: usize = 8;
/// How long a service may take to start, and to flush and exit once told to stop (the
/// exporters' own shutdown deadline is 5 s by default).
const START_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one checkout may take (a few ms; seconds in a debug build on a loaded machine).
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::main(flavor = "current_thread")]
pub async fn run() -> Result<(), Error> {
    let requests = requests()?;
    let root = std::env::var_os("SPANSCOPE_OUT_DIR").map_or_else(|| PathBuf::from("spanscope-out"), PathBuf::from);
    let exporters = Exporters::from_env();
    let mut services = Vec::new();
    let mut downstream = None;
    for role in Role::ALL {
        let dir = root.join("shop").join(role.name());
        // A fresh folder: the analysis reads everything in it.
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        let service = Service::start(role, &dir, downstream, &exporters).await?;
        downstream = Some(service.address);
        services.push(service);
    }
    let frontend = downstream.ok_or("no frontend")?;
    let listening: Vec<String> = services.iter().rev().map(|s| format!("{} on {}", s.role.name(), s.address)).collect();
    println!("shop: {}", listening.join(", "));
    println!("shop: {}; local files under {}", exporters.summary(), root.join("shop").display());

    let started = Instant::now();
    let failures = drive(frontend, requests).await;
    println!(
        "shop: {requests} checkouts for {} tenants, {CONCURRENCY} in flight, in {:.1} s: {} failed",
        TENANTS.len(),
        started.elapsed().as_secs_f64(),
        failures.len()
    );

    // Upstream first, one at a time, so their last words do not interleave.
    for service in services.iter_mut().rev() {
        service.stop().await?;
    }
    let dirs: Vec<(&str, &Path)> = services.iter().rev().map(|s| (s.role.name(), s.dir.as_path())).collect();
    report::print(&dirs, &exporters);
    match failures.first() {
        Some(first) => {
            Err(format!("{} of {requests} checkouts failed, the first with: {first}", failures.len()).into())
        }
        None => Ok(()),
    }
}

/// `--requests N`, else `SHOP_REQUESTS`, else 600.
fn requests() -> Result<usize, Error> {
    let mut args = std::env::args().skip(1);
    let flag = match args.next().as_deref() {
        Some("--requests") => Some(args.next().ok_or("--requests needs a number")?),
        Some(other) => return Err(format!("unknown argument {other:?}: try --requests N, or serve <role>").into()),
        None => std::env::var("SHOP_REQUESTS").ok(),
    };
    Ok(flag.map_or(Ok(600), |n| n.parse().map_err(|e| format!("checkouts {n:?}: {e}")))?)
}

/// One running service.
#[derive(Debug)]
struct Service {
    role: Role,
    dir: PathBuf,
    address: SocketAddr,
    child: Child,
    /// Passes the rest of its standard output through.
    output: JoinHandle<std::io::Result<u64>>,
}

impl Service {
    /// Starts `shop serve <role>` writing into `dir` and waits for the port it prints.
    async fn start(
        role: Role,
        dir: &Path,
        downstream: Option<SocketAddr>,
        exporters: &Exporters,
    ) -> Result<Self, Error> {
        let mut command = Command::new(std::env::current_exe()?);
        command.args(["serve", role.name()]);
        if let Some(downstream) = downstream {
            command.arg("--downstream").arg(downstream.to_string());
        }
        // Each service its own name and folder, whatever the environment says.
        command
            .env("OTEL_SERVICE_NAME", role.name())
            .env("SPANSCOPE_OUT_DIR", dir)
            .envs(exporters.child_env())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn()?;
        let mut stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut port = String::new();
        tokio::time::timeout(START_TIMEOUT, stdout.read_line(&mut port))
            .await
            .map_err(|_| format!("{} did not start within {START_TIMEOUT:?}", role.name()))??;
        let port: u16 = port.trim().parse().map_err(|_| format!("{} exited before it was ready", role.name()))?;
        let output = tokio::spawn(async move { tokio::io::copy(&mut stdout, &mut tokio::io::stdout()).await });
        Ok(Self { role, dir: dir.to_owned(), address: SocketAddr::from(([127, 0, 0, 1], port)), child, output })
    }

    /// Closes its standard input, which tells the service to stop, and waits for it to flush
    /// and exit.
    async fn stop(&mut self) -> Result<(), Error> {
        drop(self.child.stdin.take());
        let name = self.role.name();
        let status = tokio::time::timeout(STOP_TIMEOUT, self.child.wait())
            .await
            .map_err(|_| format!("{name} did not exit within {STOP_TIMEOUT:?} of being told to stop"))??;
        if status.success() {
            // What it printed last (traces, with `OTEL_TRACES_EXPORTER=console`) before the report.
            (&mut self.output).await??;
            Ok(())
        } else {
            Err(format!("{name} exited with {status}").into())
        }
    }
}

/// Sends `requests` checkouts to frontend, `CONCURRENCY` at a time, cycling through tenants,
/// items and quantities; returns what went wrong.
async fn drive(frontend: SocketAddr, requests: usize) -> Vec<String> {
    let client = match reqwest::Client::builder().timeout(CHECKOUT_TIMEOUT).build() {
        Ok(client) => client,
        Err(error) => return vec![error.to_string()],
    };
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (client, next) = (client.clone(), next.clone());
            tokio::spawn(async move {
                let mut failures = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= requests {
                        return failures;
                    }
                    let (tenant, item, quantity) =
                        (TENANTS[i % TENANTS.len()], ITEMS[i / TENANTS.len() % ITEMS.len()], 1 + i % 3);
                    let url = format!("http://{frontend}/checkout/{tenant}/{item}/{quantity}");
                    if let Err(error) = checkout(&client, &url).await {
                        failures.push(format!("POST {url}: {error}"));
                    }
                }
            })
        })
        .collect();
    let mut failures = Vec::new();
    for worker in workers {
        match worker.await {
            Ok(mut failed) => failures.append(&mut failed),
            Err(error) => failures.push(error.to_string()),
        }
    }
    failures
}

async fn checkout(client: &reqwest::Client, url: &str) -> Result<(), Error> {
    let response = client.post(url).send().await?;
    let status = response.status();
    let body = response.text().await?;
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("{status}: {body}").into())
    }
}

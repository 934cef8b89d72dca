//! End to end: requests per second through the `shop` demo's frontend (frontend → orders →
//! inventory, three processes on loopback, axum + reqwest + tonic), with
//!
//! - spanscope fully on: spans, propagation, the CPU profiler at 100 Hz, the local exporters
//!   (the demo as it ships, `shop serve <role>`);
//! - `OTEL_SDK_DISABLED=true`: the same binary with spanscope off, the uninstrumented rate;
//! - `tracing` + tracing-opentelemetry + the OpenTelemetry SDK exporting OTLP/JSON lines to a
//!   file (the `shop-tracing` bin: the same services and business code on that stack).
//!
//! ```text
//! cargo bench -p spanscope-benches --bench e2e
//! ```
//!
//! The bench builds the demo first (`cargo build --release -p examples --example shop`), starts
//! the four stacks (twelve processes; the idle ones cost nothing measurable), and drives each
//! in turn from this process with 8 requests in flight over keep-alive connections, in two
//! workloads: the demo's mix of four tenants (pricing costs ~0.5 to 5 ms of CPU per request), and
//! the cheapest tenant alone (so the per-request cost of the instrumentation weighs more).
//! criterion reports the time per request of each; then the configurations take turns in
//! interleaved rounds, in an order shuffled each round (so that the machine's drift weighs on all
//! alike), and the table at the end gives each one's median requests per second and the medians
//! of its per-round ratios with their 95% confidence intervals. A second, identical
//! uninstrumented stack runs as an A/A control: its ratio to the first is what this machine reads
//! when there is no difference at all. Every stack is restarted every few rounds, so that each
//! configuration is measured over several processes (a process's memory layout alone moves its
//! speed by a few percent).
//!
//! To find where a cost comes from, `E2E_VARIANTS` adds spanscope stacks with extra variables,
//! `;`-separated `name:VAR=value,VAR=value` entries (for example
//! `E2E_VARIANTS='always_off:OTEL_TRACES_SAMPLER=always_off;no profiler:SPANSCOPE_PROFILER=off'`;
//! a variant's `SPANSCOPE_OUT_DIR` gets each service's role appended, as the default's does, so
//! `tmpfs:SPANSCOPE_OUT_DIR=/dev/shm/e2e` writes to memory instead of disk),
//! `E2E_ROUNDS_ONLY=1` skips criterion for the interleaved rounds alone, and `E2E_ROUNDS=N`
//! runs N rounds instead of 40 (the confidence intervals narrow as the square root of N).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

type HttpClient = Client<HttpConnector, Empty<Bytes>>;

/// Requests in flight at once, as in the demo.
const CONCURRENCY: u64 = 8;
/// criterion's samples per configuration.
const SAMPLES: usize = 20;
/// Rounds of the interleaved comparison the table is made from (unless `E2E_ROUNDS` says), and
/// how long each configuration is driven per round.
const ROUNDS: usize = 40;
const ROUND_TIME: Duration = Duration::from_millis(500);
/// Rounds between restarts of every stack (see `interleaved`), and the requests that warm a
/// restarted stack up before it is measured.
const RESTART_EVERY: usize = 8;
const WARM_UP: u64 = 200;

/// The three services of one stack, stopped (standard input closed, then waited for) on drop.
struct Stack {
    children: Vec<Child>,
    frontend: SocketAddr,
}

impl Stack {
    /// Starts inventory, orders and frontend with `command(role)`, each told its downstream.
    fn start(command: impl Fn(&str) -> Command) -> Stack {
        let mut children = Vec::new();
        let mut downstream: Option<SocketAddr> = None;
        for role in ["inventory", "orders", "frontend"] {
            let mut command = command(role);
            if let Some(address) = downstream {
                command.args(["--downstream", &address.to_string()]);
            }
            let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("start a service");
            let mut port = String::new();
            BufReader::new(child.stdout.take().expect("piped")).read_line(&mut port).expect("read the port");
            let port: u16 = port.trim().parse().unwrap_or_else(|_| panic!("{role} did not print its port: {port:?}"));
            downstream = Some(SocketAddr::from(([127, 0, 0, 1], port)));
            children.push(child);
        }
        Stack { children, frontend: downstream.expect("three services") }
    }

    /// CPU time the three services' threads have run so far (the instrumentation's own threads
    /// included), in nanoseconds from each thread's `/proc/<pid>/task/<tid>/schedstat`; a thread
    /// that exits between two readings is not counted (the services keep theirs).
    fn cpu(&self) -> Duration {
        let thread_ns = |task: std::fs::DirEntry| -> Option<u64> {
            std::fs::read_to_string(task.path().join("schedstat")).ok()?.split_whitespace().next()?.parse().ok()
        };
        let ns: u64 = self
            .children
            .iter()
            .filter_map(|child| std::fs::read_dir(format!("/proc/{}/task", child.id())).ok())
            .flat_map(|tasks| tasks.filter_map(Result::ok).filter_map(thread_ns))
            .sum();
        Duration::from_nanos(ns)
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // Frontend first, so no request is in flight downstream when the next one stops.
        for child in self.children.iter_mut().rev() {
            drop(child.stdin.take());
            let _ = child.wait();
        }
    }
}

/// A configuration: its name, how to start its stack, and the stack running now.
struct Config<'a> {
    name: String,
    start: Box<dyn Fn() -> Stack + 'a>,
    stack: Stack,
}

impl<'a> Config<'a> {
    fn new(name: &str, start: Box<dyn Fn() -> Stack + 'a>) -> Self {
        let stack = start();
        Config { name: name.to_owned(), start, stack }
    }

    /// Replaces the stack with a fresh one (the old one stops on drop).
    fn restart(&mut self) {
        self.stack = (self.start)();
    }
}

/// Builds the demo in release and returns its path (the bench itself is built by `cargo bench`).
fn build_shop() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "-p", "examples", "--example", "shop"])
        .current_dir(workspace)
        .status()
        .expect("run cargo");
    assert!(status.success(), "building the shop demo failed");
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace.join("target"), PathBuf::from);
    target.join("release/examples/shop")
}

/// When a load run stops.
#[derive(Debug, Clone, Copy)]
enum Stop {
    /// After this many requests (criterion's iterations).
    After(u64),
    /// At this instant (a round of the interleaved comparison).
    At(Instant),
}

/// Sends checkouts to `frontend`, `CONCURRENCY` at a time, with tenants from `tenants` in turn,
/// until `stop`; how many completed, and the time they took.
async fn drive(
    client: &HttpClient,
    frontend: SocketAddr,
    tenants: &'static [&'static str],
    stop: Stop,
) -> (u64, Duration) {
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENCY {
        let (client, next, done) = (client.clone(), next.clone(), done.clone());
        workers.spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                match stop {
                    Stop::After(requests) if n >= requests => return,
                    Stop::At(deadline) if Instant::now() >= deadline => return,
                    _ => {}
                }
                let tenant = tenants[(n % tenants.len() as u64) as usize];
                let request = hyper::Request::post(format!("http://{frontend}/checkout/{tenant}/book/1"))
                    .body(Empty::new())
                    .expect("a valid request");
                let response = client.request(request).await.expect("frontend answers");
                assert!(response.status().is_success(), "checkout failed: {}", response.status());
                response.into_body().collect().await.expect("a body");
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    while let Some(worker) = workers.join_next().await {
        worker.expect("a load worker failed");
    }
    (done.load(Ordering::Relaxed), started.elapsed())
}

fn main() {
    let shop = build_shop();
    let shop = shop.as_path();
    let out = std::env::temp_dir().join(format!("spanscope-e2e-{}", std::process::id()));
    let spanscope_out = out.join("spanscope");
    let spanscope_stack = |extra: Vec<(String, String)>| {
        let spanscope_out = &spanscope_out;
        move || {
            Stack::start(|role| {
                let mut command = Command::new(shop);
                command.args(["serve", role]).env("SPANSCOPE_PROFILE_HZ", "100");
                command.env("SPANSCOPE_OUT_DIR", spanscope_out.join(role)).env_remove("OTEL_SDK_DISABLED");
                command.envs(extra.iter().map(|(name, value)| match name.as_str() {
                    "SPANSCOPE_OUT_DIR" => (name.clone(), Path::new(value).join(role).into_os_string()),
                    _ => (name.clone(), value.into()),
                }));
                command
            })
        }
    };
    let uninstrumented_stack = || {
        Stack::start(|role| {
            let mut command = Command::new(shop);
            command.args(["serve", role]).env("OTEL_SDK_DISABLED", "true");
            command
        })
    };
    let tracing_stack = || {
        Stack::start(|role| {
            let mut command = Command::new(env!("CARGO_BIN_EXE_shop-tracing"));
            command.arg(role).arg("--out").arg(out.join("tracing").join(role));
            command
        })
    };
    let mut configs = vec![
        Config::new("uninstrumented (OTEL_SDK_DISABLED=true)", Box::new(uninstrumented_stack)),
        // The A/A control: a second, identical uninstrumented stack. Its ratio to the first is
        // what this machine reads for no difference at all, the yardstick for every other ratio.
        Config::new("uninstrumented again (A/A control)", Box::new(uninstrumented_stack)),
        Config::new("spanscope", Box::new(spanscope_stack(Vec::new()))),
    ];
    for (name, extra) in variants() {
        configs.push(Config::new(&format!("spanscope, {name}"), Box::new(spanscope_stack(extra))));
    }
    configs.push(Config::new("tracing + opentelemetry", Box::new(tracing_stack)));

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let workloads: [(&str, &'static [&'static str]); 2] =
        [("mixed", &["acme", "globex", "initech", "umbrella"]), ("acme", &["acme"])];
    if std::env::var_os("E2E_ROUNDS_ONLY").is_none() {
        let mut criterion = Criterion::default().sample_size(SAMPLES).configure_from_args();
        for (workload, tenants) in workloads {
            let mut group = criterion.benchmark_group(format!("shop/{workload}"));
            group.throughput(Throughput::Elements(1));
            for config in &configs {
                group.bench_function(config.name.as_str(), |b| {
                    b.iter_custom(|requests| {
                        runtime.block_on(drive(&client, config.stack.frontend, tenants, Stop::After(requests))).1
                    })
                });
            }
            group.finish();
        }
        criterion.final_summary();
    }
    for (workload, tenants) in workloads {
        let rates = interleaved(&runtime, &client, &mut configs, tenants);
        print_table(workload, &rates);
    }
    drop(configs);
    let _ = std::fs::remove_dir_all(&out);
}

/// The extra spanscope configurations `E2E_VARIANTS` asks for (see the module docs): each one's
/// name and variables.
fn variants() -> Vec<(String, Vec<(String, String)>)> {
    let spec = std::env::var("E2E_VARIANTS").unwrap_or_default();
    spec.split(';')
        .filter(|entry| !entry.trim().is_empty())
        .map(|entry| {
            let (name, vars) =
                entry.split_once(':').unwrap_or_else(|| panic!("E2E_VARIANTS: {entry:?} is not name:VAR=value,..."));
            let vars = vars
                .split(',')
                .map(|var| {
                    let (name, value) =
                        var.split_once('=').unwrap_or_else(|| panic!("E2E_VARIANTS: {var:?} is not VAR=value"));
                    (name.trim().to_owned(), value.trim().to_owned())
                })
                .collect();
            (name.trim().to_owned(), vars)
        })
        .collect()
}

/// How many interleaved rounds to run: `E2E_ROUNDS`, else [`ROUNDS`].
fn round_count() -> usize {
    std::env::var("E2E_ROUNDS").map_or(ROUNDS, |n| {
        n.trim().parse().ok().filter(|&n| n > 0).unwrap_or_else(|| panic!("E2E_ROUNDS: {n:?} is not a positive number"))
    })
}

/// What one round measured of a configuration.
#[derive(Debug, Clone, Copy)]
struct Round {
    requests_per_second: f64,
    /// The services' CPU time per request, ms.
    cpu_ms_per_request: f64,
    /// The share of the machine's CPU time that was idle: above zero, the rate was held back by
    /// waiting (latency), not by CPU.
    idle: f64,
}

/// The machine's idle and total CPU time so far, in ticks, from the first line of `/proc/stat`
/// (idle and I/O wait count as idle).
fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<u64> =
        stat.lines().next().unwrap_or_default().split_whitespace().skip(1).filter_map(|t| t.parse().ok()).collect();
    (ticks.iter().skip(3).take(2).sum(), ticks.iter().sum())
}

/// Each configuration's rounds, the configurations taking turns in an order shuffled afresh each
/// round, so that the machine's drift weighs on all of them alike and none always follows the
/// same other (whose background work, a reporter's last batch or a profile being written, would
/// otherwise land on the same neighbour every time). Every stack is restarted every
/// `RESTART_EVERY` rounds: where the loader and ASLR put a process's stacks and heap changes its
/// speed by a few percent for its whole life (the A/A control showed identical stacks 2-4% apart),
/// so each configuration is measured over several processes, not one draw.
fn interleaved(
    runtime: &tokio::runtime::Runtime,
    client: &HttpClient,
    configs: &mut [Config<'_>],
    tenants: &'static [&'static str],
) -> Vec<(String, Vec<Round>)> {
    let mut rounds: Vec<(String, Vec<Round>)> =
        configs.iter().map(|config| (config.name.clone(), Vec::new())).collect();
    let mut shuffle = Shuffle(0x9e37_79b9_7f4a_7c15);
    let mut order: Vec<usize> = (0..configs.len()).collect();
    for round in 0..round_count() {
        if round > 0 && round % RESTART_EVERY == 0 {
            for config in configs.iter_mut() {
                config.restart();
                // Connections, buffers and caches warm, as the first stacks' were by now.
                runtime.block_on(drive(client, config.stack.frontend, tenants, Stop::After(WARM_UP)));
            }
        }
        shuffle.permute(&mut order);
        for &i in &order {
            let stack = &configs[i].stack;
            let (stop, cpu, machine) = (Stop::At(Instant::now() + ROUND_TIME), stack.cpu(), machine_ticks());
            let (done, took) = runtime.block_on(drive(client, stack.frontend, tenants, stop));
            let cpu = stack.cpu().saturating_sub(cpu);
            let (idle, total) = machine_ticks();
            rounds[i].1.push(Round {
                requests_per_second: done as f64 / took.as_secs_f64(),
                cpu_ms_per_request: cpu.as_secs_f64() * 1e3 / done.max(1) as f64,
                idle: (idle - machine.0) as f64 / (total - machine.1).max(1) as f64,
            });
        }
    }
    rounds
}

/// A fixed-seed xorshift64* generator for the rounds' order: reproducible between runs, and
/// enough to break up a fixed rotation.
struct Shuffle(u64);

impl Shuffle {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Fisher-Yates.
    fn permute(&mut self, items: &mut [usize]) {
        for i in (1..items.len()).rev() {
            items.swap(i, (self.next() % (i as u64 + 1)) as usize);
        }
    }
}

fn median(values: Vec<f64>) -> f64 {
    median_with_interval(values).0
}

/// The median of `values` with its distribution-free 95% confidence interval: the order
/// statistics at ranks (n - 1.96√n)/2 and 1 + (n + 1.96√n)/2, which hold whatever the shape of the
/// rounds' noise.
fn median_with_interval(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let n = values.len() as f64;
    let spread = 1.96 * n.sqrt();
    let low = (((n - spread) / 2.0).floor() as usize).max(1) - 1;
    let high = ((1.0 + (n + spread) / 2.0).ceil() as usize).min(values.len()) - 1;
    (values[values.len() / 2], values[low], values[high])
}

/// Each configuration's median rate and CPU per request, and the medians of its per-round rate
/// ratios to the first configuration (uninstrumented) and to the last (tracing + OpenTelemetry),
/// each with its 95% confidence interval.
fn print_table(workload: &str, rounds: &[(String, Vec<Round>)]) {
    let rates = |of: &[Round]| of.iter().map(|r| r.requests_per_second).collect::<Vec<_>>();
    let ratio = |of: &[Round], to: &[Round]| {
        let (median, low, high) = median_with_interval(rates(of).iter().zip(rates(to)).map(|(a, b)| a / b).collect());
        format!("{median:.3} ({low:.3}–{high:.3})")
    };
    let (base, tracing) = (&rounds[0].1, &rounds[rounds.len() - 1].1);
    println!(
        "\nshop/{workload}: through frontend, {CONCURRENCY} in flight, medians of {} interleaved rounds of {ROUND_TIME:?}, 95% confidence intervals in brackets",
        base.len()
    );
    println!(
        "| configuration | requests/s | × uninstrumented | × tracing + OpenTelemetry | CPU ms/request (3 services) | machine idle |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (name, of) in rounds {
        let cpu = median(of.iter().map(|r| r.cpu_ms_per_request).collect());
        let idle = median(of.iter().map(|r| r.idle).collect());
        println!(
            "| {name} | {:.0} | {} | {} | {cpu:.3} | {:.1}% |",
            median(rates(of)),
            ratio(of, base),
            ratio(of, tracing),
            idle * 100.0
        );
    }
}

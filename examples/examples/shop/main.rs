//! The whole product in one command: three services in three processes, one trace across all of
//! them, and a CPU profile that knows which tenant every sample was spent on.
//!
//! ```text
//! cargo run --release --example shop
//! ```
//!
//! `frontend` (axum) → `orders` (axum) → `inventory` (tonic), each in its own child process with
//! its own service name and output folder `spanscope-out/shop/<service>/` (`SPANSCOPE_OUT_DIR`
//! replaces `spanscope-out`; each run replaces those folders). frontend calls orders over HTTP
//! with reqwest and `spanscope::reqwest::Middleware`; orders calls inventory over gRPC through a
//! tonic client wrapped in `spanscope::tower::ClientLayer`; every server sits behind
//! `spanscope::tower::ServerLayer`. Inventory holds the stock and prices the order under the
//! tenant's contract: a tiered price search and a fraud screening, inside
//! `#[profiled(route = .., tenant = ..)]`, costlier for some tenants than for others. Nothing else
//! is instrumented by hand: the layers, `#[local]`, `#[profiled]`, `tags!` and
//! `#[spanscope::main]` do it all.
//!
//! The demo drives `--requests N` checkouts (default 600; or `SHOP_REQUESTS`), 8 in flight, for
//! four tenants, closes the services' standard input so they stop and flush, then prints the
//! slowest trace as a tree across the three services, the top functions per tenant from
//! inventory's CPU profile (100 Hz, self time) with each tenant's share of the CPU time and of
//! the bytes allocated (the allocation profile: the services' global allocator is
//! `spanscope::alloc::Profiled`), and the files written: each service's `traces.jsonl`
//! (OTLP/JSON), its `cpu-*.pb.gz` and `alloc-*.pb.gz` (pprof: `go tool pprof -http=: FILE`) and
//! `.svg` flamegraphs, with one `cpu-*.tenant=<tenant>.svg` and `alloc-*.tenant=<tenant>.svg` per
//! tenant for inventory.
//! Inventory prices on its async workers (one per core), so in the slowest trace the gap between
//! orders' client span and inventory's server span is usually the call waiting for a worker busy
//! pricing other orders.
//!
//! # Real backends
//!
//! The services inherit the environment and spanscope reads it, so the same command reports to
//! real backends:
//!
//! ```text
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 cargo run --release --example shop
//! SW_AGENT_COLLECTOR_BACKEND_SERVICES=localhost:11800 cargo run --release --example shop
//! PYROSCOPE_SERVER_ADDRESS=http://localhost:4040 cargo run --release --example shop
//! ```
//!
//! `OTEL_TRACES_EXPORTER` and `SPANSCOPE_PROFILES_EXPORTER` are used as given. Where they are
//! unset, the demo keeps the `local` exporters, so that it can still print its analysis, and adds
//! each backend whose address is set: `otlp` for `OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT`,
//! `skywalking` for `SW_AGENT_COLLECTOR_BACKEND_SERVICES`, `datadog` for `DD_TRACE_AGENT_URL` or
//! `DD_AGENT_HOST`, `pyroscope` (profiles) for `PYROSCOPE_SERVER_ADDRESS`. Without a local
//! exporter the demo says where the data went and skips that part of the analysis. It also sets
//! `SPANSCOPE_PROFILE_INTERVAL=60` unless set, so that a run usually makes one profile per
//! service. Every other variable (credentials, sampler, propagators, `SPANSCOPE_PROFILE_HZ`...)
//! reaches the services as it is, except `OTEL_SERVICE_NAME` and `SPANSCOPE_OUT_DIR`, which the
//! demo sets per service.
//!
//! # One service: `shop serve <role>`
//!
//! ```text
//! shop serve inventory [--port 0]
//! shop serve orders    [--port 0] --downstream 127.0.0.1:<inventory port>
//! shop serve frontend  [--port 0] --downstream 127.0.0.1:<orders port>
//! ```
//!
//! Each listens on 127.0.0.1 (`--port 0`, the default, lets the system pick), prints the port it
//! got as its first line of standard output, and serves until its standard input closes; then it
//! flushes and exits. Its service name is the role unless `OTEL_SERVICE_NAME` is set; inventory
//! writes per-tenant flamegraphs unless `SPANSCOPE_FLAMEGRAPH_TAG` is set; output goes where
//! `SPANSCOPE_OUT_DIR` says. Load goes to frontend's `POST /checkout/{tenant}/{item}/{quantity}`,
//! with a tenant among `acme`, `globex`, `initech`, `umbrella` and an item among `book`, `lamp`,
//! `pen`, `desk`, `chair`.

mod demo;
mod exporters;
mod frontend;
mod inventory;
mod orders;
mod report;
mod serve;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Every allocation of the services is counted, and one per 512 KiB on average sampled into
/// their allocation profiles, labelled like CPU samples.
#[global_allocator]
static ALLOC: spanscope::alloc::Profiled<std::alloc::System> = spanscope::alloc::Profiled::new(std::alloc::System);

fn main() -> Result<(), Error> {
    match std::env::args().nth(1).as_deref() {
        Some("serve") => serve::run(),
        _ => demo::run(),
    }
}

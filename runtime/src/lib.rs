//! spanscope: distributed traces and a continuous CPU profile for Rust services, from a few
//! attributes.
//!
//! ```no_run
//! use spanscope::{entry, local};
//!
//! spanscope::tags! {
//!     /// The route being served.
//!     pub route: &'static str = "http.route",
//! }
//!
//! #[entry(name = "GET /orders/{id}", tags(route = "/orders/{id}"))]
//! fn get_order(id: u64) -> Result<u64, std::num::TryFromIntError> {
//!     let price = price(id);
//!     Ok(u32::try_from(price)?.into())
//! }
//!
//! #[local]
//! fn price(id: u64) -> u64 {
//!     id * 100
//! }
//!
//! #[spanscope::main(service = "checkout")]
//! fn main() {
//!     get_order(7).unwrap();
//! }
//! ```
//!
//! # Map
//! - [`macro@entry`], [`macro@exit`], [`macro@local`]: a span around a function (server side,
//!   client side, in-process); [`macro@profiled`]: profiler tags around a function;
//!   [`macro@main`]: set everything up for `main`; [`tags!`]: declare tag keys.
//! - [`metrics!`]: declare instruments, [`record!`]: record into one; [`metrics`](mod@metrics):
//!   their runtime (bound handles, observers).
//! - [`init`] / [`Config`] / [`Guard`]: set up and shut down without the macro.
//! - [`span`]: spans by hand ([`span::local`], [`span::entry`], [`span::exit`]) where a macro
//!   does not fit.
//! - [`current`], [`capture`], [`spawn`], [`thread::spawn`], [`FutureExt`]: the current span,
//!   and carrying it into other tasks and threads.
//! - [`extract`] / [`inject`], [`Extractor`] / [`Injector`], [`Propagator`]: context
//!   propagation in every format the peers speak; [`baggage`]: entries that travel with a trace.
//! - [`alloc::Profiled`]: a global allocator wrapper whose sampled allocations make allocation
//!   profiles labelled like CPU samples, and give every span the bytes it allocated.
//! - `testing` (feature `testing`): an in-memory exporter for tests, given with
//!   `Config::exporter`.
//! - [`stats`]: what was exported and what was dropped, and why, in all and by each exporter.
//! - `tower` (feature `tower`): layers giving HTTP and gRPC servers and clients (axum, hyper,
//!   tonic) an entry or exit span per request. A server span is named `GET /orders/{id}` when
//!   the route template is known and `GET` when it is not (OpenTelemetry's convention: the
//!   path, ids and all, is a tag): feature `axum` adds the route axum matched; without it, give
//!   routes with `tower::ServerLayer::route`. `reqwest` (feature `reqwest`): the client side as
//!   a `reqwest-middleware` middleware.
//! - `tracing` (feature `tracing`): a `tracing_subscriber` layer turning `tracing` spans and
//!   events into spanscope spans and logs.
//! - `opentelemetry` (feature `opentelemetry`): the current span as an OpenTelemetry `Context`,
//!   and an OpenTelemetry `TracerProvider` whose spans spanscope records.

pub mod baggage;
// First, so that every module can use its macro.
#[macro_use]
mod stderr;

mod clock;
mod config;
mod encoding;
mod error;
mod export;
mod id;
mod init;
mod integrations;
// Records come from the bridges only: without one, the record path is built but not called.
#[cfg_attr(not(any(feature = "log", feature = "tracing")), allow(dead_code, unused_imports))]
mod logs;
pub mod metrics;
mod outbox;
pub mod profiler;
mod propagation;
mod proto;
pub mod span;
mod state;
mod stats;
mod sys;
mod tag;
#[cfg(feature = "testing")]
pub mod testing;
mod thread_allocations;

#[cfg(feature = "log")]
pub use integrations::log;
#[cfg(feature = "opentelemetry")]
pub use integrations::opentelemetry;
#[cfg(feature = "reqwest")]
pub use integrations::reqwest;
#[cfg(feature = "tower")]
pub use integrations::tower;
#[cfg(feature = "tracing")]
pub use integrations::tracing;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use config::{Config, ConfigError, LogsExporter, MetricsExporter, TracesExporter};
pub use error::InitError;
pub use id::{SegmentId, SpanId, TraceId};
pub use init::{flush, init, try_init, Guard};
#[cfg(feature = "opentelemetry")]
pub use integrations::opentelemetry::{OtelExtractor, OtelInjector, SpanscopePropagator};
pub use profiler::alloc;
pub use propagation::{Baggage, BaggageError, Extractor, Injector, Propagator};
#[cfg(feature = "tokio")]
pub use span::spawn;
pub use span::{
    capture, current, extract, extract_with, inject, inject_with, thread, CapturedContext, ErrorInfo, FutureExt,
    RemoteContext, Sampler, SpanContext, SpanKind, SpanRef, WithContext,
};
pub use spanscope_macros::{entry, exit, local, main, metrics, profiled, record, tags};
pub use stats::{stats, ExporterStats, Signal, Stats};
pub use tag::{TagKey, TagMeta, TagValue, TagValueType};

//! Spans: opening them by hand, and carrying the current one to other threads and tasks.
//!
//! The attribute macros cover a function; [`local`], [`entry`] and [`exit`] open a span
//! anywhere, with a name chosen at run time, and [`capture`] takes the current span context
//! along to a channel, a thread pool or a callback:
//!
//! ```no_run
//! spanscope::tags! {
//!     /// The tenant a job is for.
//!     pub tenant: String = "tenant",
//! }
//!
//! fn run_job(kind: &str, tenant_name: String) {
//!     let mut span = spanscope::span::local(format!("job {kind}")).tag::<tenant>(tenant_name).enter();
//!     span.log("started");
//!     // ... the job; spans opened here are children of this one ...
//!     span.end();
//! }
//!
//! async fn call_inventory(headers: &mut http::HeaderMap) {
//!     spanscope::span::exit("GET /stock", "inventory:8080")
//!         .inject(headers)
//!         .instrument(async { /* send the request */ })
//!         .await;
//! }
//! ```
//!
//! How they are recorded: a segment holds the spans of one trace made by one task or thread.
//! The segment that code is running in, and the span inside it that is current, live in
//! thread-local state; opening, entering and ending a span are a few reads and writes of it
//! plus a clock read. A segment is owned by the stack frame, guard or future that opened it and
//! leaves the thread as one unit, through one queue operation, when its first span ends: into
//! the `outbox` that `init` installs, which the reporter drains (this module never names
//! `export`). [`extract`] and [`inject`] read and write a request's context with the formats of
//! `propagation`, on which spans build. Nothing here takes a lock, allocates in steady state, or
//! makes a syscall, except where a segment begins or ends.

mod abort;
mod captured;
mod context;
pub(crate) mod current;
pub(crate) mod future;
pub(crate) mod handle;
pub(crate) mod headers;
mod manual;
pub(crate) mod outbox;
mod record;
mod remote;
pub(crate) mod segment;
mod span_ref;
mod spawn;

pub use crate::config::Sampler;
pub use captured::{capture, CapturedContext, FutureExt};
pub(crate) use future::Instrumented;
pub use future::WithContext;
pub use manual::{entry, exit, local, Entered, Entry, Exit, Local, SpanBuilder, SpanFuture};
pub use record::{ErrorInfo, SpanContext, SpanKind};
pub use remote::{extract, extract_with, inject, inject_with, RemoteContext};
pub use span_ref::{current, SpanRef};
#[cfg(feature = "tokio")]
pub use spawn::spawn;
pub use spawn::thread;

pub(crate) use crate::propagation::{ParentContext, Propagated, RefKind};
pub(crate) use abort::{submit_installed, Submitted};
pub(crate) use current::{identity, set_panic_message};
#[cfg(any(feature = "tower", feature = "reqwest", feature = "tracing", feature = "opentelemetry"))]
pub(crate) use handle::{Parent, Span};
pub(crate) use record::{SpanLog, SpanRecord, NO_SPAN};
pub(crate) use segment::Segment;

/// A span as a metric exemplar names it: its trace and span ids, and the id of the span whose
/// CPU profile covers it (`pyroscope.profile.id`), if the profiler does.
pub(crate) type ExemplarIdentity = (crate::id::TraceId, crate::id::SpanId, Option<crate::id::SpanId>);

//! Spans and segments: what the macros record, on the thread that runs the code.
//!
//! A [segment](segment) holds the spans of one trace made by one task or thread. The segment
//! that code is running in, and the span inside it that is current, live in [thread-local
//! state](current); opening, entering and ending a span are a few reads and writes of it plus
//! a clock read. A segment is owned by the stack frame or future that opened it and leaves the
//! thread as one unit, through one queue operation, when its first span ends. Nothing here
//! takes a lock, allocates in steady state, or makes a syscall, except where a segment begins
//! or ends.

mod context;
pub(crate) mod current;
mod future;
mod handle;
mod record;
mod sampler;
pub(crate) mod segment;
mod span_ref;
mod spawn;

pub use context::SpanContext;
pub use future::{FutureExt, Instrumented, WithContext};
pub use handle::{ErrorInfo, Span, SpanMeta, SyncSpan};
pub use record::SpanKind;
pub use sampler::Sampler;
pub use span_ref::{current, SpanRef};
#[cfg(feature = "tokio")]
pub use spawn::spawn;
pub use spawn::thread;

pub(crate) use context::{DatadogState, ParentContext, Propagated, RefKind, Sw8Parent};
pub(crate) use current::{identity, set_panic_message};
#[cfg(any(feature = "tower", feature = "reqwest", feature = "tracing", feature = "opentelemetry"))]
pub(crate) use handle::Parent;
pub(crate) use record::{SpanLog, SpanRecord, NO_SPAN};
pub(crate) use segment::Segment;

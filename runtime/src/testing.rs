//! Testing with spanscope (feature `testing`): an exporter that keeps finished spans in memory
//! for the test to read.
//!
//! ```no_run
//! use spanscope::testing::InMemoryExporter;
//!
//! let exporter = InMemoryExporter::new();
//! let _guard = spanscope::init(spanscope::Config::new().service_name("t").exporter(exporter.clone()));
//! spanscope::span::local("checkout").in_scope(|| {
//!     spanscope::span::local("price").in_scope(|| {});
//! });
//! spanscope::flush();
//! let spans = exporter.spans();
//! assert_eq!(spans[0].name, "price");
//! assert_eq!(spans[0].parent_span_id, Some(spans[1].span_id));
//! exporter.clear();
//! ```

pub use crate::config::CodeExporter;
pub use crate::export::traces::memory::{FinishedSpan, InMemoryExporter, SpanLink};

//! Export: the way out for finished segments.
//!
//! Application threads only [`submit`] a finished segment, one non-blocking bounded-queue
//! operation; when the queue is full the segment is dropped and counted. One reporter thread
//! owns everything else: batching, time conversion, encoding and the exporters' I/O.

mod console;
mod local;
mod otlp_json;
mod pipeline;
mod resource;

pub(crate) use pipeline::{is_reporter_thread, submit, Control, Message, Reporter};

use crate::clock::Converter;
use crate::config::{Settings, TracesExporter};
use crate::global::InitError;
use crate::span::Segment;
use resource::Resource;

/// What every exporter is given: a batch of finished segments and how to read them.
#[derive(Debug)]
pub(crate) struct Batch<'a> {
    pub segments: &'a [Box<Segment>],
    pub clock: Converter,
    pub resource: &'a Resource,
}

/// A destination for finished segments. Runs on the reporter thread only.
pub(crate) trait Exporter: Send + std::fmt::Debug {
    /// Writes a batch.
    fn export(&mut self, batch: &Batch<'_>) -> std::io::Result<()>;
    /// Makes everything exported so far durable or visible.
    fn flush(&mut self) -> std::io::Result<()>;
    /// Flushes and says, on standard error, what was written where.
    fn shutdown(&mut self);
}

/// The exporters the settings ask for, with their outputs opened.
pub(crate) fn build(settings: &Settings) -> Result<Vec<Box<dyn Exporter>>, InitError> {
    settings
        .exporters
        .iter()
        .map(|kind| -> Result<Box<dyn Exporter>, InitError> {
            Ok(match kind {
                TracesExporter::Local => Box::new(local::LocalExporter::open(&settings.out_dir)?),
                TracesExporter::Console => Box::new(console::ConsoleExporter::new(std::io::stdout(), settings.service_name.clone())),
            })
        })
        .collect()
}

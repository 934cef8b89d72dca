//! A log record as it travels to the exporters.
//!
//! A record holds what every backend needs and nothing formatted for one: the raw tick (turned
//! into Unix time on the reporter thread), the level, the body, the attributes with their typed
//! values, the target (the logger's name: OpenTelemetry's instrumentation scope), the code
//! location, and the identity of the span it was made in, sampled or not.

use std::borrow::Cow;

use crate::config::log_level::Level;
use crate::span::current::LogIdentity;
use crate::tag::TagValue;

/// One log record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LogRecord {
    /// When it was made, in raw clock ticks (the time it was observed too: the bridges see
    /// records as they are made).
    pub tick: u64,
    pub level: Level,
    pub body: String,
    /// The logger: a `log` target, a `tracing` target (the module path by default).
    pub target: Cow<'static, str>,
    pub location: Option<Location>,
    /// Fields of the record, then the `#[profiled]` tags current where it was made.
    pub attributes: Vec<(Cow<'static, str>, TagValue)>,
    /// Attributes left off beyond the count limit.
    pub dropped_attributes: u32,
    /// The span it was made in, if any.
    pub span: Option<LogIdentity>,
}

/// Where in the code a record was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Location {
    /// `code.file.path`.
    pub file: Cow<'static, str>,
    /// `code.line.number`.
    pub line: Option<u32>,
}

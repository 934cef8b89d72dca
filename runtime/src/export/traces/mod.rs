//! Trace exporters: one module per backend, each owning its wire mapping.

pub(crate) mod backends;
pub(crate) mod console;
pub(crate) mod datadog;
pub(crate) mod file;
#[cfg(feature = "testing")]
pub(crate) mod memory;
pub(crate) mod otlp;
pub(crate) mod skywalking;

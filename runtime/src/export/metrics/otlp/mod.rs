//! The OTLP metrics exporter.

pub(crate) mod model;

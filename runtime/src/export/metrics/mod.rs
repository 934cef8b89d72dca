//! Metric exporters.

pub(crate) mod otlp;
pub(crate) mod prometheus;
pub(crate) mod temporality;

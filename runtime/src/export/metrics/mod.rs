//! Metrics exporters (scaffold until the pipeline's module lands).

pub(crate) mod otlp;
pub(crate) mod temporality;

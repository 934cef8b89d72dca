//! Metric exporters.

pub(crate) mod prometheus;

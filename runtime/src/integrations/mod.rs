//! Integrations with the crates services are built with: `tower` layers (axum, hyper, tonic),
//! a `reqwest` middleware, a `tracing` layer, a `log` logger and an OpenTelemetry bridge, with
//! the HTTP semantic conventions and interned names the HTTP ones share.

#[cfg(any(feature = "tower", feature = "reqwest"))]
pub(crate) mod http_semconv;
#[cfg(any(feature = "tower", feature = "reqwest"))]
pub(crate) mod interned;
#[cfg(feature = "log")]
pub mod log;
#[cfg(feature = "opentelemetry")]
pub mod opentelemetry;
#[cfg(any(feature = "tower", feature = "reqwest"))]
pub(crate) mod request_metrics;
#[cfg(feature = "reqwest")]
pub mod reqwest;
#[cfg(feature = "tower")]
pub mod tower;
#[cfg(feature = "tracing")]
pub mod tracing;

/// Tells the logging bridges that which records are kept changed (a run started or ended), so
/// that the facades' own cached checks follow.
pub(crate) fn logs_filter_changed() {
    #[cfg(feature = "log")]
    log::max_level_changed();
    #[cfg(feature = "tracing")]
    tracing_core::callsite::rebuild_interest_cache();
}

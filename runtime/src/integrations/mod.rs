//! Integrations with the crates services are built with: `tower` layers (axum, hyper, tonic),
//! a `reqwest` middleware, a `tracing` layer and an OpenTelemetry bridge, with the HTTP semantic
//! conventions and interned names the HTTP ones share.

#[cfg(any(feature = "tower", feature = "reqwest"))]
pub(crate) mod http_semconv;
#[cfg(any(feature = "tower", feature = "reqwest"))]
pub(crate) mod interned;
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

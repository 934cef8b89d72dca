//! Metrics every program gets without declaring them: the process's resources
//! ([`process`], OpenTelemetry's process conventions) and spanscope's own counters
//! ([`own`], the figures of `stats()`), as observable instruments read at each collection;
//! and the duration of every `#[entry]` and `#[exit]` function ([`spans`]).
//! (The request durations the HTTP and gRPC integrations record live with them, in
//! `integrations::request_metrics`.)

pub(crate) mod own;
#[cfg(target_os = "linux")]
pub(crate) mod process;
pub(crate) mod spans;

use super::attributes::{AttrRef, AttributeSchema, AttributeSet};
use crate::tag::TagMeta;

/// Registers the built-in observable instruments (idempotent): `process` for the process's
/// resources, `own` for spanscope's counters.
pub(crate) fn register(process: bool, own: bool) {
    #[cfg(target_os = "linux")]
    if process {
        process::register();
    }
    #[cfg(not(target_os = "linux"))]
    let _ = process;
    if own {
        own::register();
    }
}

/// The attribute set of an instrument without attributes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NoAttributes;

impl AttributeSet for NoAttributes {
    const KEYS: &'static [fn() -> &'static TagMeta] = &[];
    fn visit(&self, _: impl FnMut(AttrRef<'_>)) {}
}

impl AttributeSchema for NoAttributes {
    type Attributes<'a> = NoAttributes;
}

/// Declares built-in observable instruments, `static NAME: Observable<V, Schema> = "wire.name"
/// { kind, unit, description, callback }` in scope `spanscope`, and `fn register()` registering
/// them all.
macro_rules! observables {
    ($($static:ident: $value:ty, $schema:ty = $name:literal { $kind:ident, $unit:literal, $description:literal, $callback:expr });* $(;)?) => {
        /// Registers the instruments of this module.
        pub(crate) fn register() {
            $($static.register();)*
        }
        $(
        static $static: $crate::metrics::Observable<$value, $schema> = {
            static META: $crate::metrics::InstrumentMeta = $crate::metrics::InstrumentMeta {
                name: $name,
                unit: $unit,
                description: $description,
                kind: $crate::metrics::InstrumentKind::$kind,
                value: <$value as $crate::metrics::MetricValue>::KIND,
                scope: ("spanscope", env!("CARGO_PKG_VERSION")),
                buckets: &[],
            };
            $crate::metrics::Observable::new(&META, $callback)
        };
    )*};
}
pub(crate) use observables;

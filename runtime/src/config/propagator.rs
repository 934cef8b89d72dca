//! The propagation formats, as `OTEL_PROPAGATORS` names them; `propagation` reads and writes
//! each.

use std::fmt;

/// A propagation format, as named in `OTEL_PROPAGATORS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Propagator {
    /// W3C Trace Context: `traceparent` and `tracestate` (`tracecontext`).
    TraceContext,
    /// W3C Baggage: `baggage` (`baggage`).
    Baggage,
    /// SkyWalking: `sw8`, `sw8-correlation`, `sw8-x` (`sw8`).
    Sw8,
    /// Datadog: `x-datadog-*` (`datadog`).
    Datadog,
    /// Zipkin B3, single header: `b3` (`b3`).
    B3,
    /// Zipkin B3, multiple headers: `x-b3-*` (`b3multi`).
    B3Multi,
}

impl Propagator {
    /// Every format.
    pub const ALL: [Propagator; 6] =
        [Self::TraceContext, Self::Baggage, Self::Sw8, Self::Datadog, Self::B3, Self::B3Multi];

    /// W3C's formats, `tracecontext,baggage`: the default set, to which `init` adds `sw8` when
    /// reporting to SkyWalking and `datadog` when reporting to Datadog (see
    /// [`Config::propagators`](crate::Config::propagators)).
    pub const DEFAULT: &'static [Propagator] = &[Propagator::TraceContext, Propagator::Baggage];

    /// The format's name in `OTEL_PROPAGATORS`.
    pub fn name(self) -> &'static str {
        match self {
            Self::TraceContext => "tracecontext",
            Self::Baggage => "baggage",
            Self::Sw8 => "sw8",
            Self::Datadog => "datadog",
            Self::B3 => "b3",
            Self::B3Multi => "b3multi",
        }
    }

    /// The format named `name` in `OTEL_PROPAGATORS`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }
}

impl fmt::Display for Propagator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

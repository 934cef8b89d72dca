//! Context propagation: reading a caller's trace context from an incoming request and writing
//! ours into an outgoing one, in every format the peers speak.
//!
//! A [carrier](Extractor) is anything that holds header-like fields; each format module reads
//! and writes its own fields in it: [W3C trace context](traceparent), [W3C baggage](baggage),
//! [SkyWalking `sw8`](sw8) with its correlation and extension headers, [Datadog](datadog) and
//! [B3](b3). `OTEL_PROPAGATORS` picks the set and the order. Extraction reads every configured
//! format: the first valid trace context wins, formats naming the same trace add what only
//! they carry (SkyWalking's parent segment, Datadog's origin), and baggage merges. Injection
//! writes every configured format from one context, so all name the same trace and parent.
//!
//! The context model a segment continues and forwards (`context`) lives here, below `span`:
//! formats read into it and write from an outgoing view of a span, and never see a segment.
//!
//! Every parser is total: any bytes give a context or a counted, ignored header, never a
//! panic. Its work is bounded whatever the header's length: `baggage` reads at most 64 members
//! and 8192 bytes; `tracestate` (32 members of at most 514 bytes), `sw8` (2048 bytes),
//! `sw8-correlation` (1024) and `x-datadog-tags` (512) are rejected unread when longer; the
//! other fields have fixed formats, checked in a scan or two. What is kept and forwarded is
//! bounded the same way.

mod b3;
mod baggage;
mod carrier;
mod context;
mod datadog;
mod http_headers;
mod sw8;
pub(crate) mod traceparent;

pub use baggage::{Baggage, BaggageError};
pub use carrier::{Extractor, Injector};
#[cfg(any(feature = "tower", feature = "reqwest"))]
pub(crate) use http_headers::Http2Headers;
pub(crate) use sw8::Sw8Outgoing;

pub use crate::config::Propagator;
use crate::id::{SegmentId, SpanId, TraceId};
pub(crate) use context::{DatadogState, ParentContext, Propagated, RefKind, Sw8Parent};

impl Propagator {
    /// The fields the format reads and writes (lowercase).
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Self::TraceContext => &[traceparent::TRACEPARENT, traceparent::TRACESTATE],
            Self::Baggage => &[baggage::BAGGAGE],
            Self::Sw8 => &[sw8::SW8, sw8::CORRELATION, sw8::EXTENSION],
            Self::Datadog => datadog::FIELDS,
            Self::B3 => &[b3::SINGLE],
            Self::B3Multi => b3::MULTI_FIELDS,
        }
    }
}

/// The propagators in force: the configured ones, or the default before `init`.
pub(crate) fn configured() -> &'static [Propagator] {
    crate::state::current().map_or(Propagator::DEFAULT, |shared| &shared.propagators)
}

/// The context found in `carrier` by the configured formats, or `None` (a new trace starts).
pub(crate) fn extract_parent<C: Extractor + ?Sized>(carrier: &C) -> Option<ParentContext> {
    extract_parent_with(configured(), carrier)
}

/// The context found in `carrier` by `propagators`, in their order.
pub(crate) fn extract_parent_with<C: Extractor + ?Sized>(
    propagators: &[Propagator],
    carrier: &C,
) -> Option<ParentContext> {
    let mut winner: Option<ParentContext> = None;
    let mut baggage = Baggage::default();
    let mut extension = None;
    for propagator in propagators {
        let found = match propagator {
            Propagator::TraceContext => traceparent::extract(carrier),
            Propagator::Sw8 => {
                sw8::extract_correlation(carrier, &mut baggage);
                extension = sw8::extract_extension(carrier);
                sw8::extract(carrier)
            }
            Propagator::Datadog => datadog::extract(carrier),
            Propagator::B3 => b3::extract_single(carrier),
            Propagator::B3Multi => b3::extract_multi(carrier),
            Propagator::Baggage => {
                baggage::extract(carrier, &mut baggage);
                None
            }
        };
        match (found, &mut winner) {
            (Some(context), None) => winner = Some(context),
            // A later format naming the same trace adds what only it carries.
            (Some(other), Some(context)) if other.trace_id == context.trace_id => {
                context.sw8 = context.sw8.take().or(other.sw8);
                let (mine, theirs) = (&mut context.propagated, other.propagated);
                mine.sw_trace_id = mine.sw_trace_id.take().or(theirs.sw_trace_id);
                mine.datadog = mine.datadog.take().or(theirs.datadog);
                mine.trace_state = mine.trace_state.take().or(theirs.trace_state);
            }
            _ => {}
        }
    }
    let mut context = winner?;
    if let Some(extension) = extension {
        context.propagated.skip_analysis = extension.skip_analysis;
        context.sent_at_ms = extension.sent_at_ms;
    }
    context.propagated.baggage = baggage;
    Some(context)
}

/// Everything an outgoing request says about the span that makes it.
#[derive(Debug)]
pub(crate) struct Outgoing<'a> {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    /// The parent of `span_id` in its segment (B3's `ParentSpanId`).
    pub parent_span_id: Option<SpanId>,
    pub sampled: bool,
    pub flags: u8,
    pub propagated: &'a Propagated,
    /// What `sw8` needs; absent when the context did not come from a spanscope segment.
    pub sw8: Option<sw8::Sw8Outgoing<'a>>,
}

/// Header fields made while a segment is borrowed, written to the carrier after the borrow:
/// a carrier may be application code, which must never run while a segment is borrowed.
#[derive(Debug, Default)]
pub(crate) struct Headers(Vec<(&'static str, String)>);

impl Injector for Headers {
    fn set(&mut self, name: &'static str, value: String) {
        self.0.push((name, value));
    }
}

impl Headers {
    pub(crate) fn write_to<C: Injector + ?Sized>(self, carrier: &mut C) {
        for (name, value) in self.0 {
            carrier.set(name, value);
        }
    }
}

/// Writes `outgoing` into `carrier` in each of `propagators`.
pub(crate) fn inject_outgoing<C: Injector + ?Sized>(
    propagators: &[Propagator],
    outgoing: &Outgoing<'_>,
    carrier: &mut C,
) {
    for propagator in propagators {
        match propagator {
            Propagator::TraceContext => traceparent::inject(outgoing, carrier),
            Propagator::Baggage => baggage::inject(&outgoing.propagated.baggage, carrier),
            Propagator::Sw8 => sw8::inject(outgoing, carrier),
            Propagator::Datadog => datadog::inject(outgoing, carrier),
            Propagator::B3 => b3::inject_single(outgoing, carrier),
            Propagator::B3Multi => b3::inject_multi(outgoing, carrier),
        }
    }
}

/// The values of fields that must each occur at most once, in the order named; `Err(())` when
/// one is repeated.
fn singles<'a, C: Extractor + ?Sized, const N: usize>(
    carrier: &'a C,
    names: [&str; N],
) -> Result<[Option<&'a [u8]>; N], ()> {
    let mut values = [None; N];
    for (value, name) in values.iter_mut().zip(names) {
        *value = single(carrier, name)?;
    }
    Ok(values)
}

/// The only value of a field that must occur at most once: `Ok(None)` when absent,
/// `Err(())` when repeated.
fn single<'a, C: Extractor + ?Sized>(carrier: &'a C, name: &str) -> Result<Option<&'a [u8]>, ()> {
    let mut values = carrier.values(name);
    let first = values.next();
    if first.is_some() && values.next().is_some() {
        return Err(());
    }
    Ok(first)
}

/// Lowercase hex of exactly 16 digits, not all zero.
fn span_id_hex(hex: &[u8]) -> Option<SpanId> {
    SpanId::from_hex(hex)
}

/// A B3 or Datadog-style trace id of 16 or 32 lowercase hex digits (16 means the upper half is
/// zero), not zero.
fn trace_id_hex(hex: &[u8]) -> Option<TraceId> {
    match hex.len() {
        32 => TraceId::from_hex(hex),
        16 => SpanId::from_hex(hex).and_then(|low| TraceId::from_int(u128::from(low.to_int()))),
        _ => None,
    }
}

/// The id a foreign parent span gets: `(segment, index)` pairs map as our own spans do.
fn foreign_span_id(segment: &str, index: u32) -> SpanId {
    SegmentId::from_foreign(segment).span_id(index)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    fn baggage_entry() -> impl Strategy<Value = (String, String)> {
        ("[a-z][a-z0-9._-]{0,15}", "\\PC{0,40}")
    }

    proptest! {
        #[test]
        fn inject_then_extract_gives_back_the_context(
            trace in 1u128..,
            segment in 1u128..,
            index in 0u32..1000,
            sampled: bool,
            random_flag: bool,
            entries in proptest::collection::vec(baggage_entry(), 0..5),
        ) {
            let segment_id = SegmentId::from_int(segment).unwrap();
            let mut propagated = Propagated::default();
            for (key, value) in &entries {
                let _ = propagated.baggage.insert(key.clone(), value.clone());
            }
            let outgoing = Outgoing {
                trace_id: TraceId::from_int(trace).unwrap(),
                span_id: segment_id.span_id(index),
                parent_span_id: None,
                sampled,
                flags: u8::from(sampled) | if random_flag { 2 } else { 0 },
                propagated: &propagated,
                sw8: Some(sw8::Sw8Outgoing {
                    segment_id,
                    span_index: index,
                    endpoint: "GET /",
                    peer: "db:5432",
                    service: "svc",
                    instance: "i@h",
                }),
            };
            for format in Propagator::ALL.into_iter().filter(|f| *f != Propagator::Baggage) {
                let mut carrier = HashMap::new();
                inject_outgoing(&[format, Propagator::Baggage], &outgoing, &mut carrier);
                // Baggage first: it holds every entry, correlation only those within its limits.
                let context = extract_parent_with(&[Propagator::Baggage, format], &carrier).unwrap();
                prop_assert_eq!(context.trace_id, outgoing.trace_id, "{}", format);
                prop_assert_eq!(context.span_id, outgoing.span_id, "{}", format);
                prop_assert_eq!(context.sampled, sampled, "{}", format);
                prop_assert_eq!(&context.propagated.baggage, &propagated.baggage, "{}", format);
                if format == Propagator::TraceContext {
                    prop_assert_eq!(context.flags, outgoing.flags, "W3C keeps every flag");
                }
                if format == Propagator::Sw8 {
                    let parent = context.sw8.as_deref().unwrap();
                    prop_assert_eq!(parent.segment_id(), segment_id.to_string());
                    prop_assert_eq!(parent.span_index, index as i32);
                    prop_assert_eq!((parent.service(), parent.peer()), ("svc", "db:5432"));
                }
            }
        }

        #[test]
        fn every_format_survives_any_bytes(value in proptest::collection::vec(any::<u8>(), 0..200)) {
            for format in Propagator::ALL {
                for field in format.fields() {
                    let carrier = HashMap::from([(field.to_string(), String::from_utf8_lossy(&value).into_owned())]);
                    let _ = extract_parent_with(&[format], &carrier);
                }
            }
        }
    }
}

//! Datadog's headers: `x-datadog-trace-id` and `x-datadog-parent-id` (decimal, the low 64
//! bits), `x-datadog-sampling-priority`, `x-datadog-origin`, and `x-datadog-tags`, whose
//! `_dd.p.tid` carries the upper 64 bits of a 128-bit trace id.
//!
//! A context without a sampling priority is treated as sampled (the caller made no decision;
//! spanscope keeps it). `x-datadog-tags` over 512 characters, or with a malformed `_dd.p.tid`,
//! is dropped and counted, as dd-trace does; the trace id then keeps its low 64 bits only. An
//! origin over 256 characters is not kept.

use super::{DatadogState, ParentContext, Propagated, RefKind};
use super::{Extractor, Injector, Outgoing};
use crate::id::{SpanId, TraceId};
use crate::stats::{self, Counter};

const TRACE_ID: &str = "x-datadog-trace-id";
pub(crate) const PARENT_ID: &str = "x-datadog-parent-id";
const PRIORITY: &str = "x-datadog-sampling-priority";
const ORIGIN: &str = "x-datadog-origin";
const TAGS: &str = "x-datadog-tags";
pub(crate) const FIELDS: &[&str] = &[TRACE_ID, PARENT_ID, PRIORITY, ORIGIN, TAGS];

/// dd-trace's default `DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH`.
const MAX_TAGS_LEN: usize = 512;
/// The longest origin kept, what a `tracestate` value (where dd-trace also carries it) can hold:
/// the origin is forwarded on every outgoing request.
const MAX_ORIGIN_LEN: usize = 256;
const TID: &str = "_dd.p.tid";

/// A decimal `u64`: digits only, no sign, no overflow, not zero.
fn decimal(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 20 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(bytes).ok()?.parse().ok().filter(|&n| n != 0)
}

/// Reads the Datadog headers from `carrier`, counting what it must ignore.
pub(crate) fn extract<C: Extractor + ?Sized>(carrier: &C) -> Option<ParentContext> {
    let Ok([trace, parent, priority, origin, tags]) =
        super::singles(carrier, [TRACE_ID, PARENT_ID, PRIORITY, ORIGIN, TAGS])
    else {
        stats::add(Counter::DatadogMalformed, 1);
        return None;
    };
    let trace = trace?;
    let (Some(low), Some(parent)) = (decimal(trace), parent.and_then(decimal)) else {
        stats::add(Counter::DatadogMalformed, 1);
        return None;
    };
    let priority = priority.and_then(|p| std::str::from_utf8(p).ok()?.trim().parse::<i8>().ok());
    let origin = origin
        .filter(|o| !o.is_empty() && o.len() <= MAX_ORIGIN_LEN && o.iter().all(|b| (0x20..0x7f).contains(b)))
        .and_then(|o| String::from_utf8(o.to_vec()).ok());
    let (high, tags) = tags.map_or((0, None), parse_tags);
    let sampled = priority.is_none_or(|p| p > 0);
    Some(ParentContext {
        kind: RefKind::CrossProcess,
        trace_id: TraceId::from_int((u128::from(high) << 64) | u128::from(low))?,
        span_id: SpanId::from_int(parent)?,
        sampled,
        flags: u8::from(sampled),
        segment: None,
        endpoint: None,
        sw8: None,
        sent_at_ms: None,
        propagated: Propagated {
            datadog: Some(Box::new(DatadogState { priority, origin, tags })),
            ..Propagated::default()
        },
    })
}

/// The upper trace id bits from `_dd.p.tid`, and the other `_dd.p.*` tags to forward.
fn parse_tags(tags: &[u8]) -> (u64, Option<String>) {
    let tags = (tags.len() <= MAX_TAGS_LEN).then(|| std::str::from_utf8(tags).ok()).flatten();
    let Some(tags) = tags else {
        stats::add(Counter::DatadogTagsDropped, 1);
        return (0, None);
    };
    let mut high = 0;
    let mut forward: Vec<&str> = Vec::new();
    for tag in tags.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        match tag.split_once('=') {
            Some((TID, hex)) => match SpanId::from_hex(hex.as_bytes()) {
                Some(tid) => high = tid.to_int(),
                None => {
                    stats::add(Counter::DatadogTagsDropped, 1);
                    return (0, None);
                }
            },
            Some((key, value)) if key.starts_with("_dd.p.") && !value.is_empty() => forward.push(tag),
            _ => {
                stats::add(Counter::DatadogTagsDropped, 1);
                return (0, None);
            }
        }
    }
    (high, (!forward.is_empty()).then(|| forward.join(",")))
}

/// Writes the Datadog headers for `outgoing`.
pub(crate) fn inject<C: Injector + ?Sized>(outgoing: &Outgoing<'_>, carrier: &mut C) {
    let trace = outgoing.trace_id.to_int();
    carrier.set(TRACE_ID, (trace as u64).to_string());
    carrier.set(PARENT_ID, outgoing.span_id.to_int().to_string());
    let state = outgoing.propagated.datadog.as_deref();
    // Keep the caller's priority when it agrees with the decision (it says who decided).
    let priority = match state.and_then(|s| s.priority) {
        Some(p) if (p > 0) == outgoing.sampled => p,
        _ => i8::from(outgoing.sampled),
    };
    carrier.set(PRIORITY, priority.to_string());
    if let Some(origin) = state.and_then(|s| s.origin.clone()) {
        carrier.set(ORIGIN, origin);
    }
    let high = (trace >> 64) as u64;
    let mut tags = if high != 0 { format!("{TID}={high:016x}") } else { String::new() };
    if let Some(forward) = state.and_then(|s| s.tags.as_deref()) {
        if !tags.is_empty() {
            tags.push(',');
        }
        tags.push_str(forward);
    }
    if tags.len() > MAX_TAGS_LEN {
        stats::add(Counter::DatadogTagsDropped, 1);
    } else if !tags.is_empty() {
        carrier.set(TAGS, tags);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn carrier(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn reads_a_128_bit_trace_id() {
        let c = carrier(&[
            (TRACE_ID, "13088165645273925489"),
            (PARENT_ID, "5678"),
            (PRIORITY, "2"),
            (ORIGIN, "synthetics"),
            (TAGS, "_dd.p.tid=640cfd8d00000000,_dd.p.dm=-4"),
        ]);
        let context = extract(&c).unwrap();
        assert_eq!(context.trace_id.to_string(), "640cfd8d00000000b5a2814f70060771");
        assert_eq!(context.span_id.to_int(), 5678);
        assert!(context.sampled);
        let state = context.propagated.datadog.unwrap();
        assert_eq!(
            *state,
            DatadogState { priority: Some(2), origin: Some("synthetics".into()), tags: Some("_dd.p.dm=-4".into()) }
        );
    }

    #[test]
    fn priorities_decide_sampling() {
        for (priority, sampled) in [("-1", false), ("0", false), ("1", true), ("2", true)] {
            let c = carrier(&[(TRACE_ID, "1"), (PARENT_ID, "2"), (PRIORITY, priority)]);
            assert_eq!(extract(&c).unwrap().sampled, sampled, "{priority}");
        }
    }

    #[test]
    fn malformed_ids_and_tags() {
        for (trace, parent) in
            [("0", "1"), ("1", "0"), ("-1", "1"), ("1", "+2"), ("18446744073709551616", "1"), ("1a", "1")]
        {
            assert!(extract(&carrier(&[(TRACE_ID, trace), (PARENT_ID, parent)])).is_none(), "{trace} {parent}");
        }
        let long = format!("_dd.p.tid=640cfd8d00000000,_dd.p.x={}", "y".repeat(600));
        let c = carrier(&[(TRACE_ID, "1"), (PARENT_ID, "2"), (TAGS, &long)]);
        let context = extract(&c).unwrap();
        assert_eq!(context.trace_id.to_int(), 1, "oversized tags drop the upper bits");
        let c = carrier(&[(TRACE_ID, "1"), (PARENT_ID, "2"), (TAGS, "_dd.p.tid=XYZ")]);
        assert_eq!(extract(&c).unwrap().trace_id.to_int(), 1);
    }

    #[test]
    fn an_origin_forwarded_is_at_most_256_characters() {
        let origin = |origin: &str| {
            let c = carrier(&[(TRACE_ID, "1"), (PARENT_ID, "2"), (ORIGIN, origin)]);
            extract(&c).unwrap().propagated.datadog.unwrap().origin
        };
        assert_eq!(origin(&"o".repeat(256)).map(|o| o.len()), Some(256));
        assert_eq!(origin(&"o".repeat(257)), None);
    }
}

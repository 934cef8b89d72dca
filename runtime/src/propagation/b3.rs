//! Zipkin B3, as Envoy, Istio and Zipkin-instrumented services send it: the single `b3` header
//! (`{trace}-{span}[-{sampling}[-{parent}]]`) and the `x-b3-*` multi-header form. Trace ids of
//! 16 or 32 lowercase hex digits are accepted; we always send 32. Debug (`d`, `X-B3-Flags: 1`)
//! means sampled. A context without a sampling decision is treated as sampled.

use super::{span_id_hex, trace_id_hex, Extractor, Injector, Outgoing};
use super::{ParentContext, Propagated, RefKind};
use crate::stats::{self, Counter};

pub(crate) const SINGLE: &str = "b3";
const TRACE_ID: &str = "x-b3-traceid";
pub(crate) const SPAN_ID: &str = "x-b3-spanid";
const SAMPLED: &str = "x-b3-sampled";
const FLAGS: &str = "x-b3-flags";
const PARENT_SPAN_ID: &str = "x-b3-parentspanid";
pub(crate) const MULTI_FIELDS: &[&str] = &[TRACE_ID, SPAN_ID, SAMPLED, FLAGS, PARENT_SPAN_ID];

fn context(trace: &[u8], span: &[u8], sampled: bool) -> Option<ParentContext> {
    Some(ParentContext {
        kind: RefKind::CrossProcess,
        trace_id: trace_id_hex(trace)?,
        span_id: span_id_hex(span)?,
        sampled,
        flags: u8::from(sampled),
        segment: None,
        endpoint: None,
        sw8: None,
        sent_at_ms: None,
        propagated: Propagated::default(),
    })
}

fn malformed() -> Option<ParentContext> {
    stats::add(Counter::B3Malformed, 1);
    None
}

/// Parses a single `b3` value.
pub(crate) fn parse_single(value: &[u8]) -> Option<ParentContext> {
    let value = value.trim_ascii();
    let mut fields = value.split(|&b| b == b'-');
    let (trace, span) = (fields.next()?, fields.next()?);
    let sampled = match fields.next() {
        None => true,
        Some(b"1" | b"d") => true,
        Some(b"0") => false,
        Some(_) => return None,
    };
    if let Some(parent) = fields.next() {
        span_id_hex(parent)?;
    }
    if fields.next().is_some() {
        return None;
    }
    context(trace, span, sampled)
}

/// Reads the single `b3` header. A sampling-only value (`0`, `1`, `d`) carries no context.
pub(crate) fn extract_single<C: Extractor + ?Sized>(carrier: &C) -> Option<ParentContext> {
    match super::single(carrier, SINGLE) {
        Ok(Some(b"0" | b"1" | b"d")) | Ok(None) => None,
        Ok(Some(value)) => parse_single(value).or_else(malformed),
        Err(()) => malformed(),
    }
}

/// Reads the `x-b3-*` headers.
pub(crate) fn extract_multi<C: Extractor + ?Sized>(carrier: &C) -> Option<ParentContext> {
    let Ok([trace, span, sampled, flags, parent]) =
        super::singles(carrier, [TRACE_ID, SPAN_ID, SAMPLED, FLAGS, PARENT_SPAN_ID])
    else {
        return malformed();
    };
    let (trace, span) = match (trace, span) {
        (None, None) => return None,
        (Some(trace), Some(span)) => (trace, span),
        _ => return malformed(),
    };
    let debug = flags == Some(b"1");
    let sampled = match sampled {
        None => true,
        Some(b"1" | b"true") => true,
        Some(b"0" | b"false") => debug,
        Some(_) => return malformed(),
    };
    if parent.is_some_and(|p| span_id_hex(p).is_none()) {
        return malformed();
    }
    context(trace, span, sampled).or_else(malformed)
}

/// Writes the single `b3` header.
pub(crate) fn inject_single<C: Injector + ?Sized>(outgoing: &Outgoing<'_>, carrier: &mut C) {
    let mut value = format!("{}-{}-{}", outgoing.trace_id, outgoing.span_id, u8::from(outgoing.sampled));
    if let Some(parent) = outgoing.parent_span_id {
        value.push_str(&format!("-{parent}"));
    }
    carrier.set(SINGLE, value);
}

/// Writes the `x-b3-*` headers.
pub(crate) fn inject_multi<C: Injector + ?Sized>(outgoing: &Outgoing<'_>, carrier: &mut C) {
    carrier.set(TRACE_ID, outgoing.trace_id.to_string());
    carrier.set(SPAN_ID, outgoing.span_id.to_string());
    carrier.set(SAMPLED, u8::from(outgoing.sampled).to_string());
    if let Some(parent) = outgoing.parent_span_id {
        carrier.set(PARENT_SPAN_ID, parent.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_header_forms() {
        let c = parse_single(b"80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90").unwrap();
        assert_eq!(c.trace_id.to_string(), "80f198ee56343ba864fe8b2a57d3eff7");
        assert_eq!(c.span_id.to_string(), "e457b5a2e4d86bd1");
        assert!(c.sampled);
        assert!(!parse_single(b"80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-0").unwrap().sampled);
        assert!(parse_single(b"64fe8b2a57d3eff7-e457b5a2e4d86bd1-d").unwrap().sampled);
        assert_eq!(
            parse_single(b"64fe8b2a57d3eff7-e457b5a2e4d86bd1").unwrap().trace_id.to_string(),
            "000000000000000064fe8b2a57d3eff7"
        );
        for bad in [
            &b"80f198ee56343ba864fe8b2a57d3eff7"[..],
            b"80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-2",
            b"80F198EE56343BA864FE8B2A57D3EFF7-e457b5a2e4d86bd1-1",
            b"80f198ee56343ba864fe8b2a57d3eff-e457b5a2e4d86bd1-1",
            b"80f198ee56343ba864fe8b2a57d3eff7-0000000000000000-1",
            b"80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-zz",
            b"80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90-x",
        ] {
            assert!(parse_single(bad).is_none(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn multi_header_forms() {
        let c = std::collections::HashMap::from([
            ("X-B3-TraceId".to_owned(), "80f198ee56343ba864fe8b2a57d3eff7".to_owned()),
            ("X-B3-SpanId".to_owned(), "e457b5a2e4d86bd1".to_owned()),
            ("X-B3-Sampled".to_owned(), "0".to_owned()),
            ("X-B3-Flags".to_owned(), "1".to_owned()),
        ]);
        let context = extract_multi(&c).unwrap();
        assert!(context.sampled, "debug overrides the sampling flag");
        let c = std::collections::HashMap::from([(
            "X-B3-TraceId".to_owned(),
            "80f198ee56343ba864fe8b2a57d3eff7".to_owned(),
        )]);
        assert!(extract_multi(&c).is_none());
    }
}

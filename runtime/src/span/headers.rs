//! The header fields that carry a span to the callee of a request it makes: the segment's
//! outgoing view, written by `propagation` in the configured formats.

use super::{Segment, NO_SPAN};
use crate::propagation::{self, Headers, Outgoing, Propagator, Sw8Outgoing};

impl Segment {
    /// The outgoing view of span `index`: what a request it makes says about it.
    pub(crate) fn outgoing<'a>(&'a self, index: u32, identity: Option<(&'a str, &'a str)>) -> Outgoing<'a> {
        let segment = self;
        let parent = segment.spans.get(index as usize).map_or(NO_SPAN, |s| s.parent);
        Outgoing {
            trace_id: segment.trace_id,
            span_id: segment.span_id(index),
            parent_span_id: (parent != NO_SPAN).then(|| segment.span_id(parent)),
            sampled: segment.sampled,
            flags: segment.flags,
            propagated: &segment.propagated,
            sw8: identity.map(|(service, instance)| Sw8Outgoing {
                segment_id: segment.id,
                span_index: index,
                endpoint: &segment.endpoint,
                peer: segment.peer(index).unwrap_or(""),
                service,
                instance,
            }),
        }
    }
}

/// The fields that carry span `index` of `segment` in every configured format.
pub(crate) fn headers_for(segment: &Segment, index: u32) -> Headers {
    headers_with(propagation::configured(), segment, index)
}

/// The fields that carry span `index` of `segment` in `propagators`.
pub(crate) fn headers_with(propagators: &[Propagator], segment: &Segment, index: u32) -> Headers {
    let mut headers = Headers::default();
    propagation::inject_outgoing(propagators, &segment.outgoing(index, service_identity()), &mut headers);
    headers
}

/// This process's SkyWalking service and instance names, once initialised.
fn service_identity() -> Option<(&'static str, &'static str)> {
    crate::state::current().map(|s| (s.service.as_str(), s.instance.as_str()))
}

//! `tracing::Span` extensions: spanscope's view of a `tracing` span, for code that only has
//! `tracing::Span::current()` at hand.

use crate::integrations::tracing::{OnBridged, WithBridged};
use crate::span::{current, SpanContext};
use crate::tag::{TagKey, TagValue, TagValueType};

/// spanscope's side of a `tracing::Span`.
pub trait SpanExt {
    /// The spanscope ids of this span if the [layer](crate::integrations::tracing::layer) bridged it; otherwise (not
    /// bridged, `Span::none()`, no layer) those of the spanscope span current here, if any.
    fn spanscope_context(&self) -> Option<SpanContext>;

    /// Sets a tag of the declared key `K` on this span if it is bridged (ignored unless its
    /// segment is the one installed here); otherwise on the spanscope span current here.
    fn set_spanscope_tag<K: TagKey>(&self, value: K::Value);
}

impl SpanExt for ::tracing::Span {
    fn spanscope_context(&self) -> Option<SpanContext> {
        let mut context = None;
        on_bridged(self, &mut |bridged| context = Some(bridged.context()));
        context.or_else(|| crate::current().context())
    }

    fn set_spanscope_tag<K: TagKey>(&self, value: K::Value) {
        let mut value = Some(value.into_tag_value());
        on_bridged(self, &mut |bridged| {
            if let Some(value) = value.take() {
                bridged.span.set_tag(K::meta(), value);
            }
        });
        if let Some(value) = value {
            tag_current(K::meta(), value);
        }
    }
}

/// Runs `f` on the layer's data for `span`, if the span is bridged.
fn on_bridged(span: &::tracing::Span, f: OnBridged<'_>) {
    span.with_subscriber(|(id, dispatch)| {
        if let Some(with_bridged) = dispatch.downcast_ref::<WithBridged>() {
            (with_bridged.0)(dispatch, id, f);
        }
    });
}

fn tag_current(meta: &'static crate::TagMeta, value: TagValue) {
    current::with_segment(|segment, span| {
        if segment.sampled {
            segment.tags.push((span, meta, value));
        }
    });
}

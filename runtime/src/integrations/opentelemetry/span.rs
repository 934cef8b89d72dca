//! The OpenTelemetry `Span` of the bridge: a spanscope span behind OpenTelemetry's span API.

use std::borrow::Cow;
use std::time::SystemTime;

use opentelemetry::trace::{self as otel};
use opentelemetry::KeyValue;

use crate::span::{ErrorInfo, SpanKind};
use crate::tag::TagMeta;

/// A span started through the bridge's [`Tracer`](crate::integrations::opentelemetry::Tracer). Ends when [`end`] is called
/// or when dropped.
///
/// [`end`]: otel::Span::end
#[derive(Debug)]
pub struct Span {
    inner: crate::span::Span,
    context: otel::SpanContext,
    /// An exit span's peer, as its attributes name it.
    peer: Option<Peer>,
}

/// The attributes that name an exit span's peer, by precedence.
#[derive(Debug, Default)]
struct Peer {
    server: (Option<String>, Option<i64>),
    net: (Option<String>, Option<i64>),
    service: Option<String>,
}

/// What an attribute does to the peer.
enum PeerAttribute {
    /// Not about the peer.
    None,
    /// Changes the peer and is also a tag.
    Tagged,
    /// Changes the peer, which the exporters report under this very name: not a tag too.
    Replaced,
}

impl Peer {
    fn take(&mut self, key: &str, value: &opentelemetry::Value) -> PeerAttribute {
        let port = || match value {
            opentelemetry::Value::I64(port) => Some(*port),
            other => other.as_str().parse().ok(),
        };
        match key {
            "server.address" => self.server.0 = Some(value.as_str().into_owned()),
            "server.port" => self.server.1 = port(),
            "net.peer.name" => self.net.0 = Some(value.as_str().into_owned()),
            "net.peer.port" => self.net.1 = port(),
            "peer.service" => self.service = Some(value.as_str().into_owned()),
            _ => return PeerAttribute::None,
        }
        if key.starts_with("server.") {
            PeerAttribute::Replaced
        } else {
            PeerAttribute::Tagged
        }
    }

    fn address(&self) -> Option<String> {
        let with_port = |(host, port): &(Option<String>, Option<i64>)| {
            host.as_ref().map(|host| match port {
                Some(port) => format!("{host}:{port}"),
                None => host.clone(),
            })
        };
        with_port(&self.server).or_else(|| with_port(&self.net)).or_else(|| self.service.clone())
    }
}

impl Span {
    /// Wraps a started spanscope span and records what the builder gave it. `parent` is the
    /// OpenTelemetry parent's span context: a span that records nothing takes its ids when it
    /// has none of its own, as OpenTelemetry's no-op spans do, so context still propagates.
    pub(super) fn new(
        inner: crate::span::Span,
        kind: SpanKind,
        attributes: Option<Vec<KeyValue>>,
        events: Option<Vec<otel::Event>>,
        parent: Option<otel::SpanContext>,
    ) -> Self {
        let context = match inner.context() {
            Some(ids) => {
                // As OpenTelemetry's SDK does, a span carries its trace's flags (the W3C random
                // bit) and `tracestate` on: from the OpenTelemetry parent, else from the current
                // segment, which holds those of the context it continues.
                let (flags, state) = match &parent {
                    None => crate::integrations::opentelemetry::continued(ids.trace_id),
                    Some(parent) if crate::integrations::opentelemetry::ids(parent).0 == Some(ids.trace_id) => {
                        (parent.trace_flags().to_u8(), parent.trace_state().clone())
                    }
                    Some(_) => (0, otel::TraceState::default()),
                };
                crate::integrations::opentelemetry::local_span_context(
                    ids.trace_id,
                    ids.span_id,
                    ids.sampled,
                    flags,
                    state,
                )
            }
            None => parent.unwrap_or_else(otel::SpanContext::empty_context),
        };
        let peer = (kind == SpanKind::Exit).then(Peer::default);
        let mut span = Self { inner, context, peer };
        if span.inner.is_recording() {
            for attribute in attributes.into_iter().flatten() {
                otel::Span::set_attribute(&mut span, attribute);
            }
            for event in events.into_iter().flatten() {
                otel::Span::add_event_with_timestamp(&mut span, event.name, event.timestamp, event.attributes);
            }
        }
        span
    }
}

impl otel::Span for Span {
    /// Logs the event now (`timestamp` is ignored: spanscope times are its clock's ticks).
    fn add_event_with_timestamp<T>(&mut self, name: T, _timestamp: SystemTime, attributes: Vec<KeyValue>)
    where
        T: Into<Cow<'static, str>>,
    {
        if !self.inner.is_recording() {
            return;
        }
        let fields = attributes
            .into_iter()
            .filter_map(|attribute| {
                let key = TagMeta::runtime(attribute.key.as_str())?.wire_name();
                Some((key, crate::integrations::opentelemetry::tag_value(attribute.value)))
            })
            .collect();
        self.inner.log(name, fields);
    }

    fn span_context(&self) -> &otel::SpanContext {
        &self.context
    }

    fn is_recording(&self) -> bool {
        self.inner.is_recording()
    }

    fn set_attribute(&mut self, attribute: KeyValue) {
        if !self.inner.is_recording() {
            return;
        }
        if let Some(peer) = &mut self.peer {
            let effect = peer.take(attribute.key.as_str(), &attribute.value);
            if !matches!(effect, PeerAttribute::None) {
                if let Some(address) = peer.address() {
                    self.inner.set_peer(address);
                }
            }
            if matches!(effect, PeerAttribute::Replaced) {
                return;
            }
        }
        if let Some(meta) = TagMeta::runtime(attribute.key.as_str()) {
            self.inner.set_tag(meta, crate::integrations::opentelemetry::tag_value(attribute.value));
        }
    }

    /// `Error` fails the span (logging its description as an `exception`); `Ok` and `Unset`
    /// change nothing.
    fn set_status(&mut self, status: otel::Status) {
        if let otel::Status::Error { description } = status {
            let error = (!description.is_empty()).then(|| ErrorInfo::new("error", description.into_owned()));
            self.inner.set_error(error);
        }
    }

    fn update_name<T>(&mut self, new_name: T)
    where
        T: Into<Cow<'static, str>>,
    {
        self.inner.set_name(new_name);
    }

    /// Not recorded: a spanscope segment has one link, its parent.
    fn add_link(&mut self, _span_context: otel::SpanContext, _attributes: Vec<KeyValue>) {}

    /// Ends the span now (`timestamp` is ignored: spanscope times are its clock's ticks).
    fn end_with_timestamp(&mut self, _timestamp: SystemTime) {
        std::mem::replace(&mut self.inner, crate::span::Span::idle()).finish(|| None);
    }
}

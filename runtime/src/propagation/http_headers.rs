//! `http` header maps and requests as carriers, with the fields of the formats parsed once as
//! header names, and HTTP/2's never-indexed fields for the values that change on every request.

use super::traceparent::{TRACEPARENT, TRACESTATE};
use super::{sw8, Extractor, Injector};

/// The fields of the default formats and of `sw8`, as header names parsed once: a `HeaderMap`
/// looked up by `&str` parses and checks the name on every call, several times per request.
static PARSED: [http::HeaderName; 6] = [
    http::HeaderName::from_static(TRACEPARENT),
    http::HeaderName::from_static(TRACESTATE),
    http::HeaderName::from_static(super::baggage::BAGGAGE),
    http::HeaderName::from_static(sw8::SW8),
    http::HeaderName::from_static(sw8::CORRELATION),
    http::HeaderName::from_static(sw8::EXTENSION),
];

/// `name` (lowercase) as a parsed header name, if it is one of [`PARSED`].
fn parsed(name: &str) -> Option<&'static http::HeaderName> {
    PARSED.iter().find(|parsed| parsed.as_str() == name)
}

impl Extractor for http::HeaderMap {
    fn values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]>
    where
        Self: 'a,
    {
        let values = match parsed(name) {
            Some(name) => self.get_all(name),
            None => self.get_all(name),
        };
        values.iter().map(http::HeaderValue::as_bytes)
    }
}

impl Injector for http::HeaderMap {
    fn set(&mut self, name: &'static str, value: String) {
        insert(self, name, value, false);
    }
}

/// The headers of an HTTP/2 request. The fields that carry the sending span's id are new on
/// every request, so HPACK would add each to the connection's table, to be looked up by value
/// and evicted unused, pushing out the fields that do repeat (`content-type`, `te`,
/// `user-agent`...). They are written never-indexed (RFC 7541 §6.2.3) instead: h2 sends them
/// literally and leaves the table alone. The flag shows only in this `HeaderMap`'s `Debug`
/// (such values print as `Sensitive`); the receiving side reads them as usual.
#[cfg(any(feature = "tower", feature = "reqwest"))]
pub(crate) struct Http2Headers<'a>(pub &'a mut http::HeaderMap);

/// The fields whose value carries the sending span's id, so is new on every request.
#[cfg(any(feature = "tower", feature = "reqwest"))]
const SPAN_ID_FIELDS: [&str; 6] =
    [TRACEPARENT, TRACESTATE, sw8::SW8, super::datadog::PARENT_ID, super::b3::SINGLE, super::b3::SPAN_ID];

#[cfg(any(feature = "tower", feature = "reqwest"))]
impl Injector for Http2Headers<'_> {
    fn set(&mut self, name: &'static str, value: String) {
        insert(self.0, name, value, SPAN_ID_FIELDS.contains(&name));
    }
}

fn insert(headers: &mut http::HeaderMap, name: &'static str, value: String, never_indexed: bool) {
    // Our values are built from hex digits and validated header text, so they are always valid
    // header values; a value that is not is skipped rather than sent broken.
    if let Ok(mut value) = http::HeaderValue::try_from(value) {
        value.set_sensitive(never_indexed);
        let name = parsed(name).cloned().unwrap_or_else(|| http::HeaderName::from_static(name));
        headers.insert(name, value);
    }
}

impl<B> Extractor for http::Request<B> {
    fn values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]>
    where
        Self: 'a,
    {
        Extractor::values(self.headers(), name)
    }
}

impl<B> Injector for http::Request<B> {
    fn set(&mut self, name: &'static str, value: String) {
        Injector::set(self.headers_mut(), name, value)
    }
}

#[cfg(all(test, any(feature = "tower", feature = "reqwest")))]
mod tests {
    use super::*;

    #[test]
    fn http2_headers_are_never_indexed_when_they_carry_the_span_id_only() {
        let mut headers = http::HeaderMap::new();
        let mut carrier = Http2Headers(&mut headers);
        let id = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        carrier.set(TRACEPARENT, id.into());
        carrier.set(TRACESTATE, "spanscope=p:b7ad6b7169203331".into());
        carrier.set(sw8::SW8, "1-MQ==-Mg==-0-c3Zj-aW5z-L2E=-aG9zdDo4MA==".into());
        carrier.set(super::super::baggage::BAGGAGE, "tenant=acme".into());
        carrier.set(sw8::CORRELATION, "dGVuYW50:YWNtZQ==".into());
        let sensitive = |name: &str| headers[name].is_sensitive();
        assert!(sensitive(TRACEPARENT) && sensitive(TRACESTATE) && sensitive(sw8::SW8));
        assert!(!sensitive("baggage") && !sensitive(sw8::CORRELATION), "repeat from request to request");
        assert_eq!(headers[TRACEPARENT].to_str().unwrap(), id, "the value itself is unchanged");

        let mut plain = http::HeaderMap::new();
        Injector::set(&mut plain, TRACEPARENT, id.into());
        assert!(!plain[TRACEPARENT].is_sensitive(), "HTTP/1 has no table: the value stays readable in Debug");
    }
}

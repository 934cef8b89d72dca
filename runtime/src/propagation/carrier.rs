//! Carriers: the header maps contexts travel in.

/// Read access to the fields of an incoming request.
pub trait Extractor {
    /// Every value of the field `name` (given in lowercase; matched case-insensitively), in
    /// order of appearance.
    fn values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]>
    where
        Self: 'a;
}

/// Write access to the fields of an outgoing request.
pub trait Injector {
    /// Sets the field `name` (lowercase), replacing any value it had.
    fn set(&mut self, name: &'static str, value: String);
}

impl<T: Extractor + ?Sized> Extractor for &T {
    fn values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]>
    where
        Self: 'a,
    {
        (**self).values(name)
    }
}

impl<T: Injector + ?Sized> Injector for &mut T {
    fn set(&mut self, name: &'static str, value: String) {
        (**self).set(name, value)
    }
}

/// The fields of the default formats and of `sw8`, as header names parsed once: a `HeaderMap`
/// looked up by `&str` parses and checks the name on every call, several times per request.
static PARSED: [http::HeaderName; 6] = [
    http::HeaderName::from_static(super::traceparent::TRACEPARENT),
    http::HeaderName::from_static(super::traceparent::TRACESTATE),
    http::HeaderName::from_static(super::baggage::BAGGAGE),
    http::HeaderName::from_static(super::sw8::SW8),
    http::HeaderName::from_static(super::sw8::CORRELATION),
    http::HeaderName::from_static(super::sw8::EXTENSION),
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
        // Our values are built from hex digits and validated header text, so they are always
        // valid header values; a value that is not is skipped rather than sent broken.
        if let Ok(value) = http::HeaderValue::try_from(value) {
            let name = parsed(name).cloned().unwrap_or_else(|| http::HeaderName::from_static(name));
            self.insert(name, value);
        }
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

/// Keys match case-insensitively, as header names do.
impl<S: std::hash::BuildHasher> Extractor for std::collections::HashMap<String, String, S> {
    fn values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]>
    where
        Self: 'a,
    {
        self.iter().filter(move |(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_bytes())
    }
}

/// Writes lowercase keys, replacing any spelling of the same key.
impl<S: std::hash::BuildHasher> Injector for std::collections::HashMap<String, String, S> {
    fn set(&mut self, name: &'static str, value: String) {
        self.retain(|k, _| !k.eq_ignore_ascii_case(name));
        self.insert(name.to_owned(), value);
    }
}

/// gRPC metadata (tonic is always present: the exporters use it).
impl Extractor for tonic::metadata::MetadataMap {
    fn values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]>
    where
        Self: 'a,
    {
        // Binary (`-bin`) keys never carry a trace context; only ASCII metadata is read.
        let values = self.get_all(name);
        values.into_iter().map(|v| v.as_encoded_bytes())
    }
}

impl Injector for tonic::metadata::MetadataMap {
    fn set(&mut self, name: &'static str, value: String) {
        if let Ok(value) = value.parse() {
            self.insert(tonic::metadata::MetadataKey::from_static(name), value);
        }
    }
}

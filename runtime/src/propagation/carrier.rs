//! Carriers: the header maps contexts travel in, and the maps of string keys and gRPC metadata;
//! `http` header maps are in `http_headers`.

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

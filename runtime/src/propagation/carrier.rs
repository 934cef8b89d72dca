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

impl Extractor for http::HeaderMap {
    fn values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]>
    where
        Self: 'a,
    {
        self.get_all(name).iter().map(http::HeaderValue::as_bytes)
    }
}

impl Injector for http::HeaderMap {
    fn set(&mut self, name: &'static str, value: String) {
        // Our values are built from hex digits and validated header text, so they are always
        // valid header values; a value that is not is skipped rather than sent broken.
        if let Ok(value) = http::HeaderValue::try_from(value) {
            self.insert(http::HeaderName::from_static(name), value);
        }
    }
}

//! What the fuzz targets share: fuzz input as a request's header fields.

use spanscope::{Extractor, Propagator};

/// The fuzz input split on `\n` into field values; the i-th value belongs to the field
/// `names[i % names.len()]`, so one input can repeat, omit or mix every field of a format.
pub struct FuzzHeaders<'a> {
    fields: Vec<(&'static str, &'a [u8])>,
}

impl<'a> FuzzHeaders<'a> {
    pub fn new(names: &[&'static str], data: &'a [u8]) -> Self {
        let fields = data.split(|&b| b == b'\n').enumerate().map(|(i, v)| (names[i % names.len()], v)).collect();
        Self { fields }
    }
}

impl Extractor for FuzzHeaders<'_> {
    fn values<'b>(&'b self, name: &str) -> impl Iterator<Item = &'b [u8]>
    where
        Self: 'b,
    {
        let name = name.to_owned();
        self.fields.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(&name)).map(|(_, v)| *v)
    }
}

/// Extracts with `propagator` from the fuzz input; any panic is a bug.
pub fn extract(propagator: Propagator, data: &[u8]) {
    let headers = FuzzHeaders::new(propagator.fields(), data);
    if let Some(context) = spanscope::extract_with(&[propagator], &headers) {
        // Whatever was accepted must be usable: ids are valid and baggage is within limits.
        assert_ne!(context.trace_id().to_int(), 0);
        assert_ne!(context.span_id().to_int(), 0);
        assert!(context.baggage().len() <= 64);
    }
}

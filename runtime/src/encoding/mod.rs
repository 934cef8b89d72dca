//! Byte encodings shared by every part: base64 (`sw8` headers, redacting Basic credentials) and
//! gzip (pprof files, request bodies).

pub(crate) mod base64;
pub(crate) mod gzip;

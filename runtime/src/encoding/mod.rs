//! Byte encodings shared by every part: base64 (`sw8` headers, redacting Basic credentials),
//! gzip (pprof files, request bodies) and percent-encoding (configuration values, URL queries).

pub(crate) mod base64;
pub(crate) mod gzip;
pub(crate) mod percent;

//! Gzip, for request bodies (OTLP/HTTP, Pyroscope) and profile files.

use std::io::Write as _;

pub(crate) use flate2::Compression;

/// `bytes` gzipped at `level`.
pub(crate) fn gzip(bytes: &[u8], level: Compression) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 4), level);
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

//! Standard Base64 with padding (RFC 4648 §4), as SkyWalking's `sw8` fields use it. Decoding is
//! strict (canonical length and padding, standard alphabet) and bounded by the input's length.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Appends the Base64 of `bytes` to `out`.
pub(crate) fn encode_into(bytes: &[u8], out: &mut String) {
    out.reserve(bytes.len().div_ceil(3) * 4);
    // Encoded a stack buffer at a time, so that each character is not pushed on its own.
    let mut buffer = [0u8; 256];
    for block in bytes.chunks(buffer.len() / 4 * 3) {
        let mut len = 0;
        for chunk in block.chunks(3) {
            let n = (u32::from(chunk[0]) << 16)
                | (u32::from(chunk.get(1).copied().unwrap_or(0)) << 8)
                | u32::from(chunk.get(2).copied().unwrap_or(0));
            for i in 0..4 {
                buffer[len + i] = if i <= chunk.len() { ALPHABET[(n >> (18 - 6 * i)) as usize & 63] } else { b'=' };
            }
            len += 4;
        }
        out.push_str(std::str::from_utf8(&buffer[..len]).unwrap_or_default());
    }
}

/// Each byte's 6-bit value in the alphabet, or `INVALID`.
const VALUES: [u8; 256] = {
    let mut values = [INVALID; 256];
    let mut i = 0;
    while i < ALPHABET.len() {
        values[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    values
};
const INVALID: u8 = 0xff;

/// Decodes padded standard Base64; `None` for anything else.
pub(crate) fn decode(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    decode_into(text, &mut out)?;
    Some(out)
}

/// Appends the bytes of padded standard Base64 to `out`; `None` (with `out` partly written)
/// for anything else.
pub(crate) fn decode_into(text: &[u8], out: &mut Vec<u8>) -> Option<()> {
    if !text.len().is_multiple_of(4) {
        return None;
    }
    out.reserve(text.len() / 4 * 3);
    let quads = text.len() / 4;
    for (q, quad) in text.chunks_exact(4).enumerate() {
        let padding = match (quad[2], quad[3]) {
            (b'=', b'=') => 2,
            (_, b'=') => 1,
            _ => 0,
        };
        if padding > 0 && q + 1 != quads {
            return None;
        }
        let mut n = 0u32;
        for &c in &quad[..4 - padding] {
            let value = VALUES[usize::from(c)];
            if value == INVALID {
                return None;
            }
            n = (n << 6) | u32::from(value);
        }
        n <<= 6 * padding as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - padding]);
    }
    Some(())
}

/// Decodes padded standard Base64 holding UTF-8 text.
pub(crate) fn decode_str(text: &[u8]) -> Option<String> {
    String::from_utf8(decode(text)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_known_values() {
        for (plain, encoded) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg==")] {
            let mut out = String::new();
            encode_into(plain.as_bytes(), &mut out);
            assert_eq!(out, encoded);
            assert_eq!(decode_str(encoded.as_bytes()).as_deref(), Some(plain));
        }
        // Longer than one encoding buffer.
        let long: Vec<u8> = (0..=255).cycle().take(1000).collect();
        let mut out = String::new();
        encode_into(&long, &mut out);
        assert_eq!(out.len(), 1336);
        assert_eq!(decode(out.as_bytes()), Some(long));
        assert_eq!(decode_str(b"L2FwaS92MS9oZWFsdGg=").as_deref(), Some("/api/v1/health"));
    }

    #[test]
    fn rejects_non_canonical_input() {
        for bad in ["Zg=", "Zg", "Z===", "Zg==Zg==", "Zm9v-", "Zm 9", "=Zm9"] {
            assert_eq!(decode(bad.as_bytes()), None, "{bad}");
        }
    }
}

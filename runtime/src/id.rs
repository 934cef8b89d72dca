//! Identifiers: 128-bit trace ids, 64-bit span ids, 128-bit segment ids, and the per-thread
//! generator that makes them.
//!
//! Ids are drawn from a per-thread wyrand generator seeded from the OS-seeded `RandomState`,
//! so making one is a few arithmetic instructions with no lock, atomic or syscall. Span ids are
//! not drawn at all: a span's 64-bit id is derived from its segment id and its index in the
//! segment, so any process that knows a SkyWalking `(segment, span index)` pair computes the
//! same OpenTelemetry span id.

use std::cell::Cell;
use std::fmt;
use std::hash::{BuildHasher, Hasher};

/// A 128-bit trace id, W3C Trace Context compatible. Displays as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceId(u128);

/// A 64-bit span id, W3C Trace Context compatible. Displays as 16 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpanId(u64);

/// The id of a segment: the spans of one trace recorded by one task or thread (SkyWalking's
/// trace segment). Displays as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SegmentId(u128);

/// `byte` as two lowercase hex digits.
pub(crate) fn hex_pair(byte: u8) -> [u8; 2] {
    HEX_PAIRS[usize::from(byte)]
}

/// Each byte's two lowercase hex digits: ids are written a byte at a time.
const HEX_PAIRS: [[u8; 2]; 256] = {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut pairs = [[0; 2]; 256];
    let mut byte = 0;
    while byte < 256 {
        pairs[byte] = [DIGITS[byte >> 4], DIGITS[byte & 0xf]];
        byte += 1;
    }
    pairs
};

macro_rules! hex_id {
    ($ty:ident, $int:ty, $digits:literal) => {
        impl $ty {
            /// The id as an integer.
            pub const fn to_int(self) -> $int {
                self.0
            }

            /// The id from an integer; `None` for zero, which W3C reserves as invalid.
            pub const fn from_int(value: $int) -> Option<Self> {
                if value == 0 {
                    None
                } else {
                    Some(Self(value))
                }
            }

            /// Parses exactly
            #[doc = concat!(stringify!($digits), " lowercase hex digits; zero is invalid.")]
            pub fn from_hex(hex: &[u8]) -> Option<Self> {
                if hex.len() != $digits {
                    return None;
                }
                let mut value: $int = 0;
                for &b in hex {
                    let digit = match b {
                        b'0'..=b'9' => b - b'0',
                        b'a'..=b'f' => b - b'a' + 10,
                        _ => return None,
                    };
                    value = (value << 4) | digit as $int;
                }
                Self::from_int(value)
            }
        }

        impl $ty {
            /// The id as lowercase hex digits, without going through `fmt`'s padding machinery
            /// (ids are written into every outgoing request).
            pub(crate) fn hex(self) -> [u8; $digits] {
                let mut out = [0u8; $digits];
                for (pair, byte) in out.chunks_exact_mut(2).zip(self.0.to_be_bytes()) {
                    pair.copy_from_slice(&hex_pair(byte));
                }
                out
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(std::str::from_utf8(&self.hex()).map_err(|_| fmt::Error)?)
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($ty))
            }
        }
    };
}

hex_id!(TraceId, u128, 32);
hex_id!(SpanId, u64, 16);
hex_id!(SegmentId, u128, 32);

impl TraceId {
    /// A new random trace id.
    pub fn random() -> Self {
        Self(nonzero_u128())
    }
}

impl SegmentId {
    /// A new random segment id.
    pub(crate) fn random() -> Self {
        Self(nonzero_u128())
    }

    /// The 64-bit id of the span at `index` in this segment: a bijective mix of the segment's
    /// low bits and the index, so spans of one segment never collide and are spread over the
    /// whole 64-bit space.
    pub(crate) fn span_id(self, index: u32) -> SpanId {
        let seed = (self.0 as u64) ^ ((self.0 >> 64) as u64).rotate_left(32);
        let id = splitmix64(seed.wrapping_add(u64::from(index).wrapping_mul(0x9E37_79B9_7F4A_7C15)));
        SpanId(if id == 0 { 1 } else { id })
    }
}

impl TraceId {
    /// The 128-bit id of a trace whose id another system spelt differently (a SkyWalking
    /// `<hex>.<n>.<n>` id): 32 lowercase hex digits are read as they are, anything else is
    /// hashed, so every process maps the same text to the same id.
    pub(crate) fn from_foreign(text: &str) -> Self {
        Self::from_hex(text.as_bytes()).unwrap_or(Self(hash128(text.as_bytes())))
    }
}

impl SegmentId {
    /// The id of a segment named by another system (a SkyWalking segment id): 32 lowercase hex
    /// digits (ours) are read as they are, anything else is hashed.
    pub(crate) fn from_foreign(text: &str) -> Self {
        Self::from_hex(text.as_bytes()).unwrap_or(Self(hash128(text.as_bytes())))
    }
}

/// FNV-1a over 128 bits: stable across processes and versions, never zero.
fn hash128(bytes: &[u8]) -> u128 {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let hash = bytes.iter().fold(OFFSET, |h, &b| (h ^ u128::from(b)).wrapping_mul(PRIME));
    if hash == 0 {
        1
    } else {
        hash
    }
}

fn splitmix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

thread_local! {
    static RNG_STATE: Cell<u64> = const { Cell::new(0) };
}

/// A uniformly random `u64` from this thread's wyrand generator.
pub(crate) fn random_u64() -> u64 {
    RNG_STATE.with(|state| {
        let mut s = state.get();
        if s == 0 {
            // First use on this thread: seed from the std hasher's per-process random keys,
            // mixed with the thread id so threads never share a sequence.
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u64(0x5EED);
            std::hash::Hash::hash(&std::thread::current().id(), &mut hasher);
            s = hasher.finish() | 1;
        }
        s = s.wrapping_add(0xA076_1D64_78BD_642F);
        state.set(s);
        let t = u128::from(s) * u128::from(s ^ 0xE703_7ED1_A0B4_28DB);
        ((t >> 64) as u64) ^ (t as u64)
    })
}

fn nonzero_u128() -> u128 {
    loop {
        let value = (u128::from(random_u64()) << 64) | u128::from(random_u64());
        if value != 0 {
            return value;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_strictness() {
        let id = TraceId::from_hex(b"4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
        assert_eq!(id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert!(TraceId::from_hex(b"4BF92F3577B34DA6A3CE929D0E0E4736").is_none());
        assert!(TraceId::from_hex(b"00000000000000000000000000000000").is_none());
        assert!(SpanId::from_hex(b"00f067aa0ba902b").is_none());
        assert_eq!(SpanId::from_hex(b"00f067aa0ba902b7").unwrap().to_string(), "00f067aa0ba902b7");
    }

    proptest::proptest! {
        #[test]
        fn hex_is_what_fmt_writes(trace: u128, span: u64) {
            if let (Some(trace_id), Some(span_id)) = (TraceId::from_int(trace), SpanId::from_int(span)) {
                proptest::prop_assert_eq!(trace_id.hex().to_vec(), format!("{trace:032x}").into_bytes());
                proptest::prop_assert_eq!(span_id.hex().to_vec(), format!("{span:016x}").into_bytes());
            }
        }
    }

    #[test]
    fn derived_span_ids_are_distinct_within_a_segment() {
        let segment = SegmentId::random();
        let ids: std::collections::HashSet<_> = (0..10_000).map(|i| segment.span_id(i)).collect();
        assert_eq!(ids.len(), 10_000);
    }
}

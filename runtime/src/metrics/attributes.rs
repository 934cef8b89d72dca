//! The attribute sets of recordings: the struct `metrics!` generates per instrument is an
//! [`AttributeSet`], visited field by field as [`AttrRef`]s, so that hashing, comparing and
//! keeping a set are written once here rather than generated per instrument.

use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

pub use crate::tag::{AttrRef, AttrValue};
use crate::tag::{TagKey, TagMeta, TagValue, TagValueType};

/// The type an attribute field of a generated `Attributes<'a>` has: the tag's value type,
/// borrowed where it owns (`String` and `Cow` become `&'a str`).
pub type Attr<'a, K> = <<K as TagKey>::Value as TagValueType>::Attr<'a>;

/// The attributes of one recording of an instrument: the `Attributes<'a>` struct `metrics!`
/// generates, one field per declared key.
pub trait AttributeSet {
    /// The keys, in the order [`visit`](Self::visit) gives their values.
    const KEYS: &'static [fn() -> &'static TagMeta];

    /// Calls `f` with each field's value, in the order of [`KEYS`](Self::KEYS).
    fn visit(&self, f: impl FnMut(AttrRef<'_>));
}

/// The generated `Schema` of an instrument: names its attribute struct for every lifetime, so
/// that an observable instrument's callback records borrowed values.
pub trait AttributeSchema: 'static {
    /// The instrument's `Attributes<'a>`.
    type Attributes<'a>: AttributeSet;
}

/// One value of a kept attribute set; strings are copied once, when the set is first seen.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum OwnedAttr {
    Str(Box<str>),
    I64(i64),
    U64(u64),
    /// The bits, so that equality is bitwise (NaN equals itself, -0 differs from 0).
    F64(u64),
    Bool(bool),
    Absent,
}

impl OwnedAttr {
    fn of(value: AttrRef<'_>) -> Self {
        match value {
            AttrRef::Str(s) => Self::Str(s.into()),
            AttrRef::I64(v) => Self::I64(v),
            AttrRef::U64(v) => Self::U64(v),
            AttrRef::F64(v) => Self::F64(v.to_bits()),
            AttrRef::Bool(v) => Self::Bool(v),
            AttrRef::Absent => Self::Absent,
        }
    }

    #[inline]
    fn matches(&self, value: AttrRef<'_>) -> bool {
        match (self, value) {
            (Self::Str(a), AttrRef::Str(b)) => **a == *b,
            (Self::I64(a), AttrRef::I64(b)) => *a == b,
            (Self::U64(a), AttrRef::U64(b)) => *a == b,
            (Self::F64(a), AttrRef::F64(b)) => *a == b.to_bits(),
            (Self::Bool(a), AttrRef::Bool(b)) => *a == b,
            (Self::Absent, AttrRef::Absent) => true,
            _ => false,
        }
    }

    fn tag_value(&self) -> Option<TagValue> {
        Some(match self {
            Self::Str(s) => TagValue::Str(String::from(&**s).into()),
            Self::I64(v) => TagValue::I64(*v),
            Self::U64(v) => TagValue::U64(*v),
            Self::F64(bits) => TagValue::F64(f64::from_bits(*bits)),
            Self::Bool(v) => TagValue::Bool(*v),
            Self::Absent => return None,
        })
    }
}

/// An attribute set as kept by the registry and by each thread's lookup table.
pub(crate) type OwnedSet = Box<[OwnedAttr]>;

/// `attributes`, kept.
pub(crate) fn to_owned<A: AttributeSet>(attributes: &A) -> OwnedSet {
    let mut owned = Vec::with_capacity(A::KEYS.len());
    attributes.visit(|value| owned.push(OwnedAttr::of(value)));
    owned.into_boxed_slice()
}

/// Whether `attributes` is the kept set `owned`.
#[inline]
pub(crate) fn matches<A: AttributeSet>(attributes: &A, owned: &[OwnedAttr]) -> bool {
    let mut index = 0;
    let mut equal = true;
    attributes.visit(|value| {
        equal &= owned.get(index).is_some_and(|kept| kept.matches(value));
        index += 1;
    });
    equal
}

/// The key–value pairs of a kept set, as exported: absent optional keys left out.
pub(crate) fn exported<A: AttributeSet>(owned: &[OwnedAttr]) -> Vec<(&'static TagMeta, TagValue)> {
    A::KEYS.iter().zip(owned).filter_map(|(key, value)| Some((key(), value.tag_value()?))).collect()
}

/// The hash of a set, seeded with the process's [`seed`] so that crafted values cannot aim at
/// one chain.
#[inline]
pub(crate) fn hash<A: AttributeSet>(attributes: &A, instrument: u32, seed: u64) -> u64 {
    let mut hasher = Mixer(seed ^ u64::from(instrument));
    attributes.visit(|value| match value {
        AttrRef::Str(s) => {
            hasher.write(s.as_bytes());
            hasher.write_u64(s.len() as u64);
        }
        AttrRef::I64(v) => hasher.write_u64(1 ^ v as u64),
        AttrRef::U64(v) => hasher.write_u64(2 ^ v),
        AttrRef::F64(v) => hasher.write_u64(3 ^ v.to_bits()),
        AttrRef::Bool(v) => hasher.write_u64(4 ^ u64::from(v)),
        AttrRef::Absent => hasher.write_u64(5),
    });
    hasher.finish()
}

/// The seed of every attribute-set hash, drawn once per process (each shard keeps a copy, so
/// the hot path does not ask again).
pub(crate) fn seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64))
}

/// The last 1 to 7 bytes of a string as one word, in at most two loads (overlapping ones for 4
/// to 7 bytes, as wyhash reads them): the string's length is hashed beside it, so which bytes
/// overlap never makes two strings of different lengths equal.
#[inline]
fn tail_word(rest: &[u8]) -> u64 {
    let n = rest.len();
    if n >= 4 {
        let low = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
        let high = u32::from_le_bytes([rest[n - 4], rest[n - 3], rest[n - 2], rest[n - 1]]);
        u64::from(low) | u64::from(high) << 32
    } else {
        u64::from(rest[0]) | u64::from(rest[n / 2]) << 8 | u64::from(rest[n - 1]) << 16
    }
}

/// A multiply–rotate mixer over 8-byte words (FxHash's construction with a seed): a few cycles
/// per word, which SipHash is not. Collisions only cost a longer comparison chain.
struct Mixer(u64);

impl Mixer {
    const K: u64 = 0xf135_7aea_2e62_a9c5;

    #[inline]
    fn word(&mut self, word: u64) {
        self.0 = (self.0 ^ word).wrapping_mul(Self::K).rotate_left(26);
    }
}

impl Hasher for Mixer {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.word(u64::from_le_bytes(chunk.try_into().expect("chunks of 8")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            self.word(tail_word(rest));
        }
    }

    #[inline]
    fn write_u64(&mut self, word: u64) {
        self.word(word);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // A final avalanche, since the table indexes by the low bits.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^ (h >> 33)
    }
}

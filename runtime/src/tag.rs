//! Tag keys and values, shared by span tags and profiler tags.
//!
//! Keys are declared once with [`tags!`](crate::tags): each key is a Rust type implementing
//! [`TagKey`], so a misspelt key is a compile error at the key and a value of the wrong type is a
//! type error at the value. A key knows its wire name (the attribute name sent to backends).

use std::borrow::Cow;
use std::fmt;

/// A declared tag key. Implemented by [`tags!`](crate::tags); not meant to be implemented by hand.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a declared tag key",
    label = "not declared with `spanscope::tags!`",
    note = "keys are declared once with `spanscope::tags!`, e.g. `spanscope::tags! {{ pub route: &'static str }}`"
)]
pub trait TagKey: 'static {
    /// The type a value of this tag must have.
    type Value: TagValueType;
    /// The key's names, in static memory so that its address identifies the key.
    fn meta() -> &'static TagMeta;

    // Generated code names a key once, as `<key as TagKey>`, and reaches the tag through the two
    // functions below: an undeclared key is then one error at the key, "cannot find type". Named
    // in generic arguments (`tag::<key>(value)`), rustc would also suggest making it a type
    // parameter of the instrumented function, or read it as a const when a parameter has its name.

    #[doc(hidden)]
    /// This tag with `value`, for `#[profiled]`.
    #[inline]
    fn __tag(value: Self::Value) -> OwnedTag
    where
        Self: Sized,
    {
        OwnedTag::new::<Self>(value)
    }

    #[doc(hidden)]
    /// Sets this tag with `value` on the span of a function instrumented by `#[entry]`, `#[exit]`
    /// or `#[local]`. The span is a `dyn` so that this function is not generic: for a generic one,
    /// rustc reports a type that is not a key a third time, over the whole call. Inlined, the call
    /// is on a known type.
    #[inline]
    fn __set_on(span: &mut dyn TaggedSpan<Self>, value: Self::Value)
    where
        Self: Sized,
    {
        span.tag(value);
    }
}

/// The names of a declared tag key.
#[derive(Debug)]
pub struct TagMeta {
    ident: &'static str,
    wire_name: &'static str,
}

impl TagMeta {
    #[doc(hidden)]
    pub const fn new(ident: &'static str, wire_name: &'static str) -> Self {
        Self { ident, wire_name }
    }

    /// The Rust identifier the key was declared with.
    pub fn ident(&self) -> &'static str {
        self.ident
    }

    /// The key as sent to backends (`= "http.route"` in `tags!`, else the identifier).
    pub fn wire_name(&self) -> &'static str {
        self.wire_name
    }
}

#[cfg(any(feature = "tracing", feature = "opentelemetry"))]
/// Tag keys named at run time (by the `tracing` and OpenTelemetry bridges), each leaked once
/// so that spans store every key the same way: as a `&'static TagMeta`. Bounded, because the
/// names may come from data: past [`MAX_RUNTIME_KEYS`] a new name is refused and counted.
static RUNTIME_KEYS: std::sync::Mutex<Option<std::collections::HashMap<&'static str, &'static TagMeta>>> =
    std::sync::Mutex::new(None);

#[cfg(any(feature = "tracing", feature = "opentelemetry"))]
/// How many distinct run-time tag keys a process keeps.
const MAX_RUNTIME_KEYS: usize = 1024;

#[cfg(any(feature = "tracing", feature = "opentelemetry"))]
impl TagMeta {
    /// The key named `name` at run time; `None` (counted in
    /// [`Stats::tag_keys_over_limit`](crate::Stats)) once too many distinct names were seen.
    pub(crate) fn runtime(name: &str) -> Option<&'static TagMeta> {
        let mut keys = RUNTIME_KEYS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let keys = keys.get_or_insert_with(Default::default);
        if let Some(meta) = keys.get(name) {
            return Some(meta);
        }
        if keys.len() >= MAX_RUNTIME_KEYS {
            crate::stats::add(crate::stats::Counter::TagKeysOverLimit, 1);
            return None;
        }
        let name: &'static str = Box::leak(name.into());
        let meta: &'static TagMeta = Box::leak(Box::new(TagMeta::new(name, name)));
        keys.insert(name, meta);
        Some(meta)
    }
}

/// A tag value.
#[derive(Debug, Clone, PartialEq)]
pub enum TagValue {
    /// A string.
    Str(Cow<'static, str>),
    /// A signed integer.
    I64(i64),
    /// An unsigned integer.
    U64(u64),
    /// A floating-point number.
    F64(f64),
    /// A boolean.
    Bool(bool),
}

impl fmt::Display for TagValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Str(s) => f.write_str(s),
            Self::I64(v) => v.fmt(f),
            Self::U64(v) => v.fmt(f),
            Self::F64(v) => v.fmt(f),
            Self::Bool(v) => v.fmt(f),
        }
    }
}

impl From<&'static str> for TagValue {
    fn from(value: &'static str) -> Self {
        Self::Str(Cow::Borrowed(value))
    }
}

impl From<String> for TagValue {
    fn from(value: String) -> Self {
        Self::Str(Cow::Owned(value))
    }
}

/// The types a declared tag may hold: strings, integers, floats and booleans.
#[diagnostic::on_unimplemented(
    message = "a tag cannot hold a `{Self}`",
    label = "not a tag value type",
    note = "tags hold `&'static str`, `String`, `Cow<'static, str>`, integers, floats or `bool`"
)]
pub trait TagValueType: Sized + 'static {
    #[doc(hidden)]
    /// What a metric recording passes for an attribute of this type: the value itself, or a
    /// borrowed `&'a str` for the types that own a string.
    type Attr<'a>: AttrValue;

    /// Converts the value.
    fn into_tag_value(self) -> TagValue;
}

impl TagValueType for &'static str {
    type Attr<'a> = &'static str;

    fn into_tag_value(self) -> TagValue {
        TagValue::Str(Cow::Borrowed(self))
    }
}

impl TagValueType for String {
    type Attr<'a> = &'a str;

    fn into_tag_value(self) -> TagValue {
        TagValue::Str(Cow::Owned(self))
    }
}

impl TagValueType for Cow<'static, str> {
    type Attr<'a> = &'a str;

    fn into_tag_value(self) -> TagValue {
        TagValue::Str(self)
    }
}

impl TagValueType for bool {
    type Attr<'a> = bool;

    fn into_tag_value(self) -> TagValue {
        TagValue::Bool(self)
    }
}

macro_rules! tag_value_types {
    ($variant:ident as $wide:ty: $($ty:ty),*) => {$(
        impl TagValueType for $ty {
            type Attr<'a> = $ty;

            fn into_tag_value(self) -> TagValue {
                TagValue::$variant(self as $wide)
            }
        }
    )*};
}

tag_value_types!(I64 as i64: i8, i16, i32, i64, isize);
tag_value_types!(U64 as u64: u8, u16, u32, u64, usize);
tag_value_types!(F64 as f64: f32, f64);

/// A tag key with its value, ready to be pushed on the profiler tag state or set on a span.
#[derive(Debug)]
pub struct OwnedTag {
    pub(crate) meta: &'static TagMeta,
    pub(crate) value: TagValue,
}

impl OwnedTag {
    /// A tag of the declared key `K`.
    pub fn new<K: TagKey>(value: K::Value) -> Self {
        Self { meta: K::meta(), value: value.into_tag_value() }
    }
}

/// The span of an instrumented function, as [`TagKey`] sets tags of the key `K` on it: a
/// `SyncSpan` around a sync body, a `Span` entered on every poll of an async one.
pub trait TaggedSpan<K: TagKey> {
    /// Sets the tag `K` to `value`.
    fn tag(&mut self, value: K::Value);
}

/// One attribute value as a recording passes it: borrowed, never cloned on the hot path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AttrRef<'a> {
    /// A string.
    Str(&'a str),
    /// A signed integer.
    I64(i64),
    /// An unsigned integer.
    U64(u64),
    /// A floating-point number (compared by its bits).
    F64(f64),
    /// A boolean.
    Bool(bool),
    /// An optional attribute given as `None`: the key is left out of the set.
    Absent,
}

/// A value a recording can carry as an attribute.
pub trait AttrValue: Copy {
    /// The value, borrowed.
    fn attr_ref(&self) -> AttrRef<'_>;
}

impl AttrValue for &str {
    #[inline]
    fn attr_ref(&self) -> AttrRef<'_> {
        AttrRef::Str(self)
    }
}

impl AttrValue for bool {
    #[inline]
    fn attr_ref(&self) -> AttrRef<'_> {
        AttrRef::Bool(*self)
    }
}

impl AttrValue for f64 {
    #[inline]
    fn attr_ref(&self) -> AttrRef<'_> {
        AttrRef::F64(*self)
    }
}

impl AttrValue for f32 {
    #[inline]
    fn attr_ref(&self) -> AttrRef<'_> {
        AttrRef::F64(f64::from(*self))
    }
}

macro_rules! integer_attr_values {
    ($variant:ident as $wide:ty: $($ty:ty),*) => {$(
        impl AttrValue for $ty {
            #[inline]
            fn attr_ref(&self) -> AttrRef<'_> {
                AttrRef::$variant(*self as $wide)
            }
        }
    )*};
}

integer_attr_values!(I64 as i64: i8, i16, i32, i64, isize);
integer_attr_values!(U64 as u64: u8, u16, u32, u64, usize);

impl<T: AttrValue> AttrValue for Option<T> {
    #[inline]
    fn attr_ref(&self) -> AttrRef<'_> {
        match self {
            Some(value) => value.attr_ref(),
            None => AttrRef::Absent,
        }
    }
}

//! The per-thread stack of active profiler tags.
//!
//! Push and pop write a few words of thread-local memory and nothing else: no allocation, no
//! lock, no atomic read-modify-write. String values are not copied; the slot points at the
//! bytes owned by the [`TagSet`] that pushed them, which outlives the push (the guard that pops
//! borrows the set). Each slot is written before the depth that makes it visible, with a
//! compiler fence between, so a signal handler interrupting the thread sees whole entries.

use std::cell::Cell;
use std::sync::atomic::{compiler_fence, Ordering};

use crate::tag::{OwnedTag, TagMeta, TagValue};

/// Tags deeper than this are not recorded (the depth still counts them, so pops stay balanced).
pub(crate) const MAX_ACTIVE_TAGS: usize = 16;

#[derive(Clone, Copy)]
enum RawValue {
    Str { ptr: *const u8, len: usize },
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
}

#[derive(Clone, Copy)]
struct RawTag {
    meta: *const TagMeta,
    value: RawValue,
}

const EMPTY: RawTag = RawTag { meta: std::ptr::null(), value: RawValue::Bool(false) };

struct TagState {
    depth: Cell<usize>,
    slots: [Cell<RawTag>; MAX_ACTIVE_TAGS],
}

thread_local! {
    static TAGS: TagState = const {
        TagState { depth: Cell::new(0), slots: [const { Cell::new(EMPTY) }; MAX_ACTIVE_TAGS] }
    };
}

impl RawTag {
    fn of(tag: &OwnedTag) -> Self {
        let value = match &tag.value {
            TagValue::Str(s) => RawValue::Str { ptr: s.as_ptr(), len: s.len() },
            TagValue::I64(v) => RawValue::I64(*v),
            TagValue::U64(v) => RawValue::U64(*v),
            TagValue::F64(v) => RawValue::F64(*v),
            TagValue::Bool(v) => RawValue::Bool(*v),
        };
        Self { meta: tag.meta, value }
    }
}

/// The tags of one `#[profiled]` function, owned for as long as they may be pushed.
#[derive(Debug)]
pub struct TagSet<const N: usize> {
    tags: [OwnedTag; N],
}

impl<const N: usize> TagSet<N> {
    /// A set of tags.
    pub fn new(tags: [OwnedTag; N]) -> Self {
        Self { tags }
    }

    /// Pushes the tags on this thread's tag state until the guard drops.
    #[inline]
    pub fn push(&self) -> TagGuard<'_> {
        let saved = TAGS.with(|state| {
            let depth = state.depth.get();
            for (i, tag) in self.tags.iter().enumerate() {
                if let Some(slot) = state.slots.get(depth + i) {
                    slot.set(RawTag::of(tag));
                }
            }
            compiler_fence(Ordering::Release);
            state.depth.set(depth + N);
            depth
        });
        TagGuard { saved, _tags: std::marker::PhantomData }
    }
}

/// Pops the tags of a [`TagSet::push`] when dropped, panics included.
#[derive(Debug)]
pub struct TagGuard<'a> {
    saved: usize,
    _tags: std::marker::PhantomData<&'a ()>,
}

impl Drop for TagGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        let saved = self.saved;
        // `try_with`: a guard dropped while the thread's locals are being destroyed is harmless.
        let _ = TAGS.try_with(|state| state.depth.set(saved));
    }
}

/// The tags active on this thread now, innermost value first per key, as `(wire name, value)`.
///
/// The CPU sampler reads the same state; this function exists so the state can be inspected
/// and tested.
pub fn current_tags() -> Vec<(&'static str, TagValue)> {
    TAGS.with(|state| {
        let depth = state.depth.get().min(MAX_ACTIVE_TAGS);
        let mut out: Vec<(&'static str, TagValue)> = Vec::with_capacity(depth);
        let mut seen: Vec<*const TagMeta> = Vec::with_capacity(depth);
        for slot in state.slots[..depth].iter().rev() {
            let raw = slot.get();
            if seen.contains(&raw.meta) {
                continue;
            }
            seen.push(raw.meta);
            // SAFETY: a slot below the depth was written by a push whose `TagSet` is still
            // borrowed by its live guard, so `meta` points at a `'static` key and a string
            // value's bytes are alive, valid UTF-8, and unchanged.
            let (meta, value) = unsafe {
                let value = match raw.value {
                    RawValue::Str { ptr, len } => TagValue::Str(
                        std::str::from_utf8_unchecked(std::slice::from_raw_parts(ptr, len)).to_owned().into(),
                    ),
                    RawValue::I64(v) => TagValue::I64(v),
                    RawValue::U64(v) => TagValue::U64(v),
                    RawValue::F64(v) => TagValue::F64(v),
                    RawValue::Bool(v) => TagValue::Bool(v),
                };
                (&*raw.meta, value)
            };
            out.push((meta.wire_name(), value));
        }
        out
    })
}

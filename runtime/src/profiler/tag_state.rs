//! The per-thread stack of active profiler tags.
//!
//! Push and pop write a few words of thread-local memory and nothing else: no allocation, no
//! lock, no atomic read-modify-write. String values are not copied; the slot points at the
//! bytes owned by the [`TagSet`] that pushed them, which outlives the push (the guard that pops
//! borrows the set). Each slot is written before the depth that makes it visible, with a
//! compiler fence between, and a pop's depth store is fenced before anything that may free the
//! set, so a signal handler interrupting the thread sees whole entries whose bytes are alive.
//!
//! [`TagSnapshot::capture`] is that signal handler's read: it copies the active entries, string
//! bytes included, into a fixed-size snapshot without allocating, locking or formatting. It must
//! stay that way: it runs inside the CPU sampler's signal handler.

use std::cell::Cell;
use std::marker::PhantomData;
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
        TagGuard { saved, _tags: PhantomData }
    }
}

/// Pops the tags of a [`TagSet::push`] when dropped, panics included. Not `Send`: it must be
/// dropped on the thread whose tag state it changed.
#[derive(Debug)]
pub struct TagGuard<'a> {
    saved: usize,
    _tags: PhantomData<(&'a (), *const ())>,
}

impl Drop for TagGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        let saved = self.saved;
        // `try_with`: a guard dropped while the thread's locals are being destroyed is harmless.
        let _ = TAGS.try_with(|state| state.depth.set(saved));
        // The popped set may be freed right after; the depth store must not sink below that,
        // or a signal in between would read freed string bytes.
        compiler_fence(Ordering::SeqCst);
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

/// String bytes a [`TagSnapshot`] holds at most; longer values are cut.
const SNAPSHOT_BYTES: usize = 512;

/// A copy of one thread's active tags at one instant, made by the CPU sampler's signal handler.
#[derive(Clone, Copy)]
pub(crate) struct TagSnapshot {
    len: usize,
    tags: [SnapshotTag; MAX_ACTIVE_TAGS],
    bytes: [u8; SNAPSHOT_BYTES],
}

#[derive(Clone, Copy)]
struct SnapshotTag {
    meta: *const TagMeta,
    /// A string value's bytes are `bytes[start..start + len]` of the snapshot.
    value: RawValue,
}

impl TagSnapshot {
    pub(crate) const EMPTY: Self = Self {
        len: 0,
        tags: [SnapshotTag { meta: std::ptr::null(), value: RawValue::Bool(false) }; MAX_ACTIVE_TAGS],
        bytes: [0; SNAPSHOT_BYTES],
    };

    /// Copies this thread's active tags. Signal-safe: reads a const-initialised thread-local
    /// without destructor and copies bytes; no allocation, lock, or formatting.
    pub(crate) fn capture(&mut self) {
        self.len = 0;
        let mut used = 0;
        let _ = TAGS.try_with(|state| {
            let depth = state.depth.get().min(MAX_ACTIVE_TAGS);
            for slot in &state.slots[..depth] {
                let raw = slot.get();
                let value = match raw.value {
                    RawValue::Str { ptr, len } => {
                        let len = len.min(SNAPSHOT_BYTES - used);
                        // SAFETY: a slot below the depth points at the live bytes of a pushed
                        // set (see the module doc), and `len` fits in the snapshot's free tail.
                        unsafe { std::ptr::copy_nonoverlapping(ptr, self.bytes.as_mut_ptr().add(used), len) };
                        let value = RawValue::Str { ptr: used as *const u8, len };
                        used += len;
                        value
                    }
                    other => other,
                };
                self.tags[self.len] = SnapshotTag { meta: raw.meta, value };
                self.len += 1;
            }
        });
    }

    /// The captured tags as `(wire name, value)`, innermost value first per key. A string cut
    /// by the snapshot's size keeps its longest valid UTF-8 prefix.
    pub(crate) fn tags(&self) -> Vec<(&'static str, TagValue)> {
        let mut out: Vec<(&'static str, TagValue)> = Vec::with_capacity(self.len);
        let mut seen: Vec<*const TagMeta> = Vec::with_capacity(self.len);
        for tag in self.tags[..self.len].iter().rev() {
            if seen.contains(&tag.meta) {
                continue;
            }
            seen.push(tag.meta);
            let value = match tag.value {
                RawValue::Str { ptr, len } => {
                    let bytes = &self.bytes[ptr as usize..ptr as usize + len];
                    let text = match std::str::from_utf8(bytes) {
                        Ok(text) => text,
                        // SAFETY: `valid_up_to` is the length of the longest valid prefix.
                        Err(e) => unsafe { std::str::from_utf8_unchecked(&bytes[..e.valid_up_to()]) },
                    };
                    TagValue::Str(text.to_owned().into())
                }
                RawValue::I64(v) => TagValue::I64(v),
                RawValue::U64(v) => TagValue::U64(v),
                RawValue::F64(v) => TagValue::F64(v),
                RawValue::Bool(v) => TagValue::Bool(v),
            };
            // SAFETY: `meta` was copied from a pushed slot, which holds a `&'static TagMeta`.
            out.push((unsafe { &*tag.meta }.wire_name(), value));
        }
        out
    }
}

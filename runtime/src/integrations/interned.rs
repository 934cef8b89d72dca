//! Names made from requests that repeat from one request to the next (span names built from
//! routes, gRPC methods, the server's own address), kept once for the life of the process, so
//! that each request's span borrows them instead of allocating a copy that the reporter thread
//! then frees.
//!
//! Bounded, because the names come from requests: past [`MAX_NAMES`] distinct names, or past
//! [`MAX_NAME_LEN`] bytes, a name is copied into its span as it would be without this, so
//! nothing is lost and at most 256 KiB are kept. Each thread looks a name up in its own set
//! first; only a name new to the thread takes the process-wide lock, and not even that once the
//! process's set is full or when the name is too long to keep.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// How many distinct names a process keeps.
const MAX_NAMES: usize = 1024;
/// The longest name kept; routes and method names are far shorter.
const MAX_NAME_LEN: usize = 256;

/// Every name kept, for the process.
static NAMES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
/// Whether [`NAMES`] is full: a name new to a thread is then copied without asking.
static FULL: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// The names this thread has looked up, and the buffer that joins a name's parts.
    static LOCAL: RefCell<(HashSet<&'static str>, String)> = RefCell::new(Default::default());
}

/// `parts` joined, borrowed from the names kept, or copied (see the module docs).
pub(crate) fn joined(parts: &[&str]) -> Cow<'static, str> {
    let found = LOCAL.try_with(|local| {
        let (seen, buffer) = &mut *local.borrow_mut();
        buffer.clear();
        for part in parts {
            buffer.push_str(part);
        }
        lookup(seen, buffer)
    });
    // Only while the thread exits: copied, as without this.
    found.unwrap_or_else(|_| Cow::Owned(parts.concat()))
}

/// `name`, borrowed from the names kept, or copied (see the module docs).
pub(crate) fn name(name: &str) -> Cow<'static, str> {
    let found = LOCAL.try_with(|local| lookup(&mut local.borrow_mut().0, name));
    found.unwrap_or_else(|_| Cow::Owned(name.to_owned()))
}

/// `name` from this thread's set `seen`, else from the process's (kept now if there is room),
/// else copied.
fn lookup(seen: &mut HashSet<&'static str>, name: &str) -> Cow<'static, str> {
    if let Some(name) = seen.get(name) {
        return Cow::Borrowed(name);
    }
    match kept(name) {
        Some(kept) => {
            seen.insert(kept);
            Cow::Borrowed(kept)
        }
        None => Cow::Owned(name.to_owned()),
    }
}

/// The process's copy of `name`: made now if it is new and there is room.
fn kept(name: &str) -> Option<&'static str> {
    // Refused either way: not worth the lock.
    if !fits(name) || FULL.load(Ordering::Relaxed) {
        return None;
    }
    let mut names = NAMES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let kept = keep(names.get_or_insert_with(HashSet::new), MAX_NAMES, name);
    if kept.is_none() {
        // The name fits, so only a full set refuses it.
        FULL.store(true, Ordering::Relaxed);
    }
    kept
}

/// The copy of `name` in `names`, made now if it is new, fits, and `names` holds fewer than
/// `max`.
fn keep(names: &mut HashSet<&'static str>, max: usize, name: &str) -> Option<&'static str> {
    if let Some(kept) = names.get(name) {
        return Some(kept);
    }
    if names.len() >= max || !fits(name) {
        return None;
    }
    let kept: &'static str = Box::leak(name.into());
    names.insert(kept);
    Some(kept)
}

/// Whether `name` is short enough to keep.
fn fits(name: &str) -> bool {
    name.len() <= MAX_NAME_LEN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_kept_once_and_borrowed_from_every_thread() {
        let first = joined(&["GET", " ", "/interned/{id}"]);
        assert!(matches!(first, Cow::Borrowed("GET /interned/{id}")));
        let again = std::thread::spawn(|| name("GET /interned/{id}")).join().unwrap();
        match (first, again) {
            (Cow::Borrowed(a), Cow::Borrowed(b)) => assert!(std::ptr::eq(a, b), "one copy for the process"),
            other => panic!("not borrowed: {other:?}"),
        }
    }

    #[test]
    fn past_the_bound_names_are_refused_and_those_kept_stay() {
        let mut names = HashSet::new();
        let kept = keep(&mut names, 2, "/a").unwrap();
        assert_eq!(keep(&mut names, 2, "/b"), Some("/b"));
        assert_eq!(keep(&mut names, 2, "/c"), None);
        assert_eq!(keep(&mut HashSet::new(), 2, &"/long".repeat(60)), None);
        assert!(std::ptr::eq(keep(&mut names, 2, "/a").unwrap(), kept));
    }
}

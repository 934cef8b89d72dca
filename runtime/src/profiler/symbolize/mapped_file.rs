//! A module's file mapped read-only, shared by the DWARF readers and the symbol table that
//! point into it.
//!
//! The pages of a file mapping count in the process's resident memory once read, and the
//! kernel maps the pages around each one read as well (fault-around, 64 KiB): the few strings
//! and line programs a lookup reads, scattered over a debug binary's 100 MB of DWARF, add
//! megabytes. [`MappedFile::release`] unmaps them from the process after each lookup; they stay
//! in the page cache, and the next read maps them again.

use std::fmt;
use std::io;
use std::ops::Deref;
use std::path::Path;
use std::rc::Rc;

/// Bytes shared by the readers pointing into them: a mapped file, a section the linker
/// compressed (decompressed), or a view built for one compilation unit.
#[derive(Clone)]
pub(crate) struct Bytes(Rc<Backing>);

enum Backing {
    Mapped(memmap2::Mmap),
    Owned(Box<[u8]>),
}

impl Bytes {
    pub(crate) fn owned(bytes: impl Into<Box<[u8]>>) -> Self {
        Self(Rc::new(Backing::Owned(bytes.into())))
    }

    pub(crate) fn mapped(map: memmap2::Mmap) -> Self {
        Self(Rc::new(Backing::Mapped(map)))
    }
}

impl Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &*self.0 {
            Backing::Mapped(map) => map,
            Backing::Owned(bytes) => bytes,
        }
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bytes({})", self.len())
    }
}

// SAFETY: the bytes are the `Rc`'s mapping or boxed slice, which neither moves nor changes
// length while the `Rc` holds it: every clone derefs to the same bytes at the same address.
unsafe impl gimli::StableDeref for Bytes {}
// SAFETY: as above; a clone shares the `Rc`.
unsafe impl gimli::CloneStableDeref for Bytes {}

/// What the DWARF is read with.
pub(crate) type Reader = gimli::EndianReader<gimli::RunTimeEndian, Bytes>;

/// A file mapped read-only.
pub(crate) struct MappedFile {
    bytes: Bytes,
}

impl MappedFile {
    pub(crate) fn open(path: &Path) -> io::Result<Self> {
        let file = std::fs::File::open(path)?;
        // SAFETY: the mapping is private and read-only. The files mapped are the loaded
        // modules, which the process runs: writing one in place would corrupt its code as well
        // (a rebuild replaces the file, and this mapping keeps the one loaded).
        let map = unsafe { memmap2::Mmap::map(&file) }?;
        Ok(Self { bytes: Bytes::mapped(map) })
    }

    pub(crate) fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// Unmaps the pages read so far from the process (see the module docs).
    pub(crate) fn release(&self) {
        if let Backing::Mapped(map) = &*self.bytes.0 {
            // SAFETY: the mapping is read-only, so its pages hold the file's bytes and nothing
            // else: dropping them loses nothing, and the next read maps the file's page again.
            let _ = unsafe { map.unchecked_advise(memmap2::UncheckedAdvice::DontNeed) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Resident KiB of this process's mappings of `path`, from `/proc/self/smaps`.
    fn resident_kib(path: &Path) -> u64 {
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("smaps");
        let (mut ours, mut total) = (false, 0);
        for line in smaps.lines() {
            let mut fields = line.split_whitespace();
            let first = fields.next().unwrap_or_default();
            if !first.ends_with(':') {
                // A mapping's header: `start-end perms offset device inode path`.
                ours = line.ends_with(&*path.to_string_lossy());
            } else if ours && first == "Rss:" {
                total += fields.next().and_then(|kib| kib.parse::<u64>().ok()).unwrap_or(0);
            }
        }
        total
    }

    #[test]
    fn pages_read_are_released() {
        let path = std::env::temp_dir().join(format!("spanscope-mapped-file-{}", std::process::id()));
        std::fs::write(&path, vec![7u8; 4 << 20]).expect("a scratch file");
        let file = MappedFile::open(&path).expect("mapped");
        let read: u64 = file.bytes().iter().step_by(4096).map(|&b| u64::from(b)).sum();
        assert_eq!(read, 7 * 1024);
        assert!(resident_kib(&path) >= 4 << 10, "every page was read");
        file.release();
        assert_eq!(resident_kib(&path), 0, "none stays mapped");
        assert_eq!(file.bytes()[4 << 19], 7, "the bytes read again");
        std::fs::remove_file(&path).ok();
    }
}

//! A JSON-lines file in the local output folder that keeps within its share of the folder's
//! budget: what the local trace and metrics exporters write their lines to.
//!
//! Each line is one `write`, so that lines from several processes sharing the folder never
//! interleave. Once the file holds half its share, it becomes `<stem>.1.jsonl` (replacing the
//! one before) and a new one is started: the file keeps at most its share, the newest lines.
//! If that cannot be done (the folder refuses the rename), the lines go on into the full file
//! rather than being lost, and it is said once.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::InitError;

#[derive(Debug)]
pub(crate) struct JsonLines {
    path: PathBuf,
    /// Where `path` goes when it fills up.
    previous: PathBuf,
    file: File,
    rotate_at: u64,
    /// How many times `file` filled up, or was found rotated, and a new one was opened.
    rotations: u64,
    /// Whether keeping to the budget failed (said once).
    rotation_failed: bool,
}

impl JsonLines {
    /// Appends to `dir/<stem>.jsonl`, keeping at most `max_bytes` of its lines in `dir`.
    pub(crate) fn open(dir: &Path, stem: &str, max_bytes: u64) -> Result<Self, InitError> {
        let path = dir.join(format!("{stem}.jsonl"));
        let io = |error| InitError::Io { path: path.clone(), error };
        std::fs::create_dir_all(dir).map_err(io)?;
        let file = append_to(&path).map_err(io)?;
        Ok(Self {
            previous: dir.join(format!("{stem}.1.jsonl")),
            path,
            file,
            rotate_at: (max_bytes / 2).max(1),
            rotations: 0,
            rotation_failed: false,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `lines` (whole lines, each ending in `\n`) in one write, starting a new file
    /// first if this one is full.
    pub(crate) fn write(&mut self, lines: &[u8]) -> io::Result<()> {
        if let Err(error) = self.keep_current() {
            if !std::mem::replace(&mut self.rotation_failed, true) {
                stderr_line!(
                    "spanscope: cannot start a new {} ({error}); writing on past SPANSCOPE_OUT_MAX_MB",
                    self.path.display()
                );
            }
        }
        self.file.write_all(lines)
    }

    pub(crate) fn flush(&mut self) {
        // Write errors were counted and reported as they happened.
        let _ = self.file.flush();
    }

    /// What the exit line adds when older lines were moved or deleted: empty if none were.
    pub(crate) fn rotated_note(&self) -> String {
        match self.rotations {
            0 => String::new(),
            // Past the first rotation, each one replaced the previous file.
            n => format!(
                " (the oldest moved to {}{}, to stay within SPANSCOPE_OUT_MAX_MB)",
                self.previous.display(),
                if n > 1 { " or deleted" } else { "" }
            ),
        }
    }

    #[cfg(test)]
    pub(crate) fn rotations(&self) -> u64 {
        self.rotations
    }

    #[cfg(test)]
    pub(crate) fn rotate_at(&self) -> u64 {
        self.rotate_at
    }

    /// Keeps `file` the one at `path`, starting a new one when it has filled up.
    ///
    /// Every write checks (one `stat` each) that the open file is still the one at `path`:
    /// another process sharing the folder may have rotated it, whatever its own budget, and
    /// then this one only opens the new file. Processes that find it full at the same instant
    /// take turns ([`RotationTurn`]): the first renames it, the others find it gone.
    fn keep_current(&mut self) -> io::Result<()> {
        let ours = self.file.metadata()?;
        if self.is_at_path(&ours) && ours.len() < self.rotate_at {
            return Ok(());
        }
        let new_file = {
            let _turn = RotationTurn::take(&self.file);
            if self.is_at_path(&ours) {
                std::fs::rename(&self.path, &self.previous)?;
            }
            append_to(&self.path)?
        };
        self.file = new_file;
        self.rotations += 1;
        Ok(())
    }

    /// Whether the file `ours` describes is still the one at `path`.
    fn is_at_path(&self, ours: &Metadata) -> bool {
        std::fs::metadata(&self.path).is_ok_and(|at_path| same_file(ours, &at_path))
    }
}

/// An exclusive lock (`flock`) on a full file while it is rotated, held by one of the processes
/// sharing the folder at a time. Without it, two that found the file full at once could both
/// rename it, the second moving the first's new file over the previous one, which loses the
/// older lines early. Only rotations take it, not writes. Elsewhere than on Linux there is no
/// lock, and that race remains.
struct RotationTurn<'a> {
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    file: &'a File,
}

impl<'a> RotationTurn<'a> {
    /// Waits for the other processes' turns on `file`. If the lock cannot be had (a file
    /// system without locks), the rotation goes ahead without it.
    fn take(file: &'a File) -> Self {
        #[cfg(target_os = "linux")]
        loop {
            use std::os::fd::AsRawFd;
            // SAFETY: `flock` on the descriptor `file` owns, open for the borrow's lifetime.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0
                || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted
            {
                break;
            }
        }
        Self { file }
    }
}

impl Drop for RotationTurn<'_> {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: as in `take`; unlocking a file that is not locked does nothing.
            unsafe { libc::flock(self.file.as_raw_fd(), libc::LOCK_UN) };
        }
    }
}

fn append_to(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

#[cfg(unix)]
fn same_file(a: &Metadata, b: &Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

/// Without inode numbers, a file is taken to be still where it was opened (so processes sharing
/// a folder each rotate it when they find it full).
#[cfg(not(unix))]
fn same_file(_: &Metadata, _: &Metadata) -> bool {
    true
}

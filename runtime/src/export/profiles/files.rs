//! The local profile exporter: each window's CPU profile as `cpu-<start ms>-<pid>.pb.gz`
//! (gzipped pprof, for `go tool pprof` and the usual viewers) and `cpu-<start ms>-<pid>.svg` (an
//! interactive flamegraph, see [`flamegraph`]) in the output folder, plus, with a flamegraph tag
//! set, one `cpu-<start ms>-<pid>.<tag>=<value>.svg` per value of that tag (`untagged` for
//! samples without it). Its allocation profile goes beside it the same way as `alloc-*`, the
//! flamegraphs drawing the bytes allocated, and `alloc-<start ms>-<pid>.inuse.svg` the bytes
//! still live at the window's end. Windows are aligned to the wall clock, so the process id keeps apart the files of
//! processes sharing the folder. The oldest windows this process wrote are deleted once they take
//! more than its share of `SPANSCOPE_OUT_MAX_MB`.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use crate::export::profiles::flamegraph::{self, Drawn, Filter};
use crate::profiler::sink::{Finished, ProfileKind, ProfileSink};
use crate::stats::{self, Counter};

#[derive(Debug)]
pub(crate) struct ProfileFiles {
    dir: PathBuf,
    flamegraph_tag: Option<String>,
    /// Profiles written: CPU, allocations.
    written: [u64; 2],
    failed: bool,
    /// The most the windows this process keeps may take.
    max_bytes: u64,
    /// The windows kept, oldest first: each one's files and their bytes.
    kept: VecDeque<WindowFiles>,
    kept_bytes: u64,
    /// Windows deleted to stay within `max_bytes`.
    deleted: u64,
}

/// The files one window was written to, and their bytes.
#[derive(Debug, Default)]
struct WindowFiles {
    files: Vec<PathBuf>,
    bytes: u64,
}

impl WindowFiles {
    /// Writes a file of the window. It is recorded even if the write fails, so that one left
    /// half written by a full disk is deleted with its window too.
    fn put(&mut self, path: PathBuf, contents: &[u8]) -> std::io::Result<()> {
        let written = std::fs::write(&path, contents);
        self.files.push(path);
        self.bytes += contents.len() as u64;
        written
    }
}

impl ProfileFiles {
    /// Writes into `dir`, creating it, keeping at most `max_bytes` of profiles there.
    pub(crate) fn open(dir: &Path, flamegraph_tag: Option<String>, max_bytes: u64) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
            flamegraph_tag,
            written: [0; 2],
            failed: false,
            max_bytes,
            kept: VecDeque::new(),
            kept_bytes: 0,
            deleted: 0,
        })
    }

    /// Writes `window`'s files, recording each in `files` as it is written.
    fn write(&self, window: &Finished, files: &mut WindowFiles) -> std::io::Result<()> {
        let start = window.window.start.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
        let kind = window.window.kind;
        let stem = format!("{}-{start}-{}", kind.file_prefix(), std::process::id());
        files.put(self.dir.join(format!("{stem}.pb.gz")), &window.window.gzipped)?;
        let (drawn, title) = match kind {
            ProfileKind::Cpu => (Drawn::CpuTime, format!("CPU {stem}")),
            ProfileKind::Allocations => (Drawn::AllocatedBytes, format!("Allocated {stem}")),
        };
        let mut draw =
            |drawn, filter, title: &str, name: String| match flamegraph::render(&window.profile, drawn, filter, title)?
            {
                Some(svg) => files.put(self.dir.join(name), &svg),
                None => Ok(()),
            };
        draw(drawn, Filter::All, &title, format!("{stem}.svg"))?;
        if kind == ProfileKind::Allocations {
            draw(Drawn::LiveBytes, Filter::All, &format!("Live at the end {stem}"), format!("{stem}.inuse.svg"))?;
        }
        let Some(key) = self.flamegraph_tag.as_deref() else { return Ok(()) };
        let strings = &window.profile.string_table;
        let text = |i: i64| strings.get(i as usize).map_or("", String::as_str);
        let mut values: Vec<Option<&str>> = window
            .profile
            .sample
            .iter()
            .map(|s| s.label.iter().find(|l| text(l.key) == key).map(|l| text(l.str)))
            .collect();
        values.sort_unstable();
        values.dedup();
        for value in values {
            let title = format!("{title} {key}={}", value.unwrap_or("(untagged)"));
            let name =
                format!("{stem}.{}={}.svg", file_safe(key), value.map_or_else(|| "untagged".to_owned(), file_safe));
            draw(drawn, Filter::Label { key, value }, &title, name)?;
        }
        Ok(())
    }

    /// Deletes the oldest windows while they take more than `max_bytes`. The newest stays
    /// whatever its size: a profile is never half kept.
    fn trim(&mut self) {
        while self.kept_bytes > self.max_bytes && self.kept.len() > 1 {
            let Some(oldest) = self.kept.pop_front() else { break };
            for file in &oldest.files {
                // One already gone (deleted by hand) frees nothing more.
                let _ = std::fs::remove_file(file);
            }
            self.kept_bytes -= oldest.bytes;
            self.deleted += 1;
        }
    }
}

/// `text` with every character a file name might trip on replaced by `_`.
fn file_safe(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect()
}

impl ProfileSink for ProfileFiles {
    fn export(&mut self, window: &Finished) {
        let mut files = WindowFiles::default();
        let written = self.write(window, &mut files);
        self.kept_bytes += files.bytes;
        self.kept.push_back(files);
        self.trim();
        match written {
            Ok(()) => {
                self.written[window.window.kind as usize] += 1;
                stats::add(Counter::ProfilesExported, 1);
            }
            Err(error) => {
                stats::add(Counter::ProfilesDroppedExportError, 1);
                if !self.failed {
                    stderr_line!("spanscope: cannot write profiles to {}: {error}", self.dir.display());
                    self.failed = true;
                }
            }
        }
    }

    fn shutdown(&mut self) {
        let [cpu, allocations] = self.written;
        if cpu + allocations == 0 {
            return;
        }
        let count = |n: u64, what: &str| format!("{n} {what} profile{}", if n == 1 { "" } else { "s" });
        let (written, files) = match (cpu, allocations) {
            (_, 0) => (count(cpu, "CPU"), "cpu-*.pb.gz for `go tool pprof`, cpu-*.svg flamegraphs"),
            (0, _) => (count(allocations, "allocation"), "alloc-*.pb.gz for `go tool pprof`, alloc-*.svg flamegraphs"),
            _ => (
                format!("{} and {}", count(cpu, "CPU"), count(allocations, "allocation")),
                "cpu-*.pb.gz and alloc-*.pb.gz for `go tool pprof`, *.svg flamegraphs",
            ),
        };
        let deleted = if self.deleted > 0 {
            format!(", the {} oldest deleted to stay within SPANSCOPE_OUT_MAX_MB", self.deleted)
        } else {
            String::new()
        };
        stderr_line!("spanscope: wrote {written} to {} ({files}{deleted})", self.dir.display());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::profiler::sink::ProfileWindow;
    use crate::proto::perftools::profiles::{Profile, Sample};

    /// The window starting `seconds` after the epoch, its pprof `bytes` long, with one sample.
    fn window(seconds: u64, bytes: usize) -> Finished {
        let start = UNIX_EPOCH + Duration::from_secs(seconds);
        let end = start + Duration::from_secs(10);
        let window = ProfileWindow { kind: ProfileKind::Cpu, gzipped: vec![0; bytes].into(), start, end };
        let period = 10_000_000;
        let sample = Sample { value: vec![period], ..Default::default() };
        Finished { profile: Profile { sample: vec![sample], period, ..Default::default() }, window: Arc::new(window) }
    }

    #[test]
    fn the_oldest_windows_are_deleted_past_the_budget() {
        let dir = std::env::temp_dir().join(format!("spanscope-profiles-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let budget = 200_000;
        let mut local = ProfileFiles::open(&dir, None, budget).unwrap();
        for n in 0..30 {
            local.export(&window(n * 10, 3_000));
        }
        let mut files: Vec<(String, u64)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                (entry.file_name().into_string().unwrap(), entry.metadata().unwrap().len())
            })
            .collect();
        files.sort();
        let _ = std::fs::remove_dir_all(&dir);

        let bytes: u64 = files.iter().map(|(_, len)| len).sum();
        let windows: Vec<&str> = files.iter().filter_map(|(name, _)| name.strip_suffix(".pb.gz")).collect();
        assert!(windows.len() > 1, "{files:?}");
        // Within the budget, and short of it by less than one more window.
        let per_window = bytes / windows.len() as u64;
        assert!(bytes <= budget && bytes + per_window > budget, "{bytes} bytes in {files:?}");
        let pid = std::process::id();
        assert_eq!(windows.last().copied(), Some(&*format!("cpu-290000-{pid}")), "the newest is kept");
        assert!(!windows.contains(&&*format!("cpu-0-{pid}")), "the oldest is gone");
        assert_eq!(files.len(), 2 * windows.len(), "a window's flamegraph goes with its pprof");
        assert_eq!((local.written, local.deleted), ([30, 0], 30 - windows.len() as u64));
    }
}

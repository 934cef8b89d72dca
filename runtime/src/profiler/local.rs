//! The local profile exporter: each window as `cpu-<start ms>.pb.gz` (gzipped pprof, for
//! `go tool pprof` and the usual viewers) and `cpu-<start ms>.svg` (a flamegraph) in the output
//! folder, plus, with a flamegraph tag set, one `cpu-<start ms>.<tag>=<value>.svg` per value of
//! that tag (`untagged` for samples without it).

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use super::flamegraph::{self, Filter};
use super::sink::{Finished, ProfileSink};
use crate::stats::{self, Counter};

#[derive(Debug)]
pub(crate) struct LocalProfiles {
    dir: PathBuf,
    flamegraph_tag: Option<String>,
    written: u64,
    failed: bool,
}

impl LocalProfiles {
    /// Writes into `dir`, creating it.
    pub(crate) fn open(dir: &Path, flamegraph_tag: Option<String>) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self { dir: dir.to_owned(), flamegraph_tag, written: 0, failed: false })
    }

    fn write(&self, window: &Finished) -> std::io::Result<()> {
        let stem = format!("cpu-{}", window.window.start.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis());
        std::fs::write(self.dir.join(format!("{stem}.pb.gz")), &window.window.gzipped)?;
        let title = format!("CPU {stem}");
        std::fs::write(self.dir.join(format!("{stem}.svg")), flamegraph::render(&window.profile, Filter::All, &title))?;
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
            let svg = flamegraph::render(&window.profile, Filter::Label { key, value }, &format!("{title} {key}={}", value.unwrap_or("(untagged)")));
            let name = format!("{stem}.{}={}.svg", file_safe(key), value.map_or_else(|| "untagged".to_owned(), file_safe));
            std::fs::write(self.dir.join(name), svg)?;
        }
        Ok(())
    }
}

/// `text` with every character a file name might trip on replaced by `_`.
fn file_safe(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect()
}

impl ProfileSink for LocalProfiles {
    fn export(&mut self, window: &Finished) {
        match self.write(window) {
            Ok(()) => {
                self.written += 1;
                stats::add(Counter::ProfilesExported, 1);
            }
            Err(error) => {
                stats::add(Counter::ProfilesDroppedExportError, 1);
                if !self.failed {
                    eprintln!("spanscope: cannot write CPU profiles to {}: {error}", self.dir.display());
                    self.failed = true;
                }
            }
        }
    }

    fn shutdown(&mut self) {
        if self.written > 0 {
            eprintln!(
                "spanscope: wrote {} CPU profile{} to {} (cpu-*.pb.gz for `go tool pprof`, cpu-*.svg flamegraphs)",
                self.written,
                if self.written == 1 { "" } else { "s" },
                self.dir.display()
            );
        }
    }
}

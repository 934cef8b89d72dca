//! Reading back the CPU profiles the runtime wrote: gzipped pprof decoded with the project's own
//! `profile.proto` (the runtime's generated types), flattened into samples with function names
//! and labels.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use prost::Message as _;
pub use spanscope::profiler::proto::perftools::profiles::Profile;

/// One pprof sample, flattened.
#[derive(Debug, Clone)]
pub struct FlatSample {
    /// Function names, leaf first, inlined functions before the function they were inlined in.
    pub functions: Vec<String>,
    /// `file:line` of each entry of `functions`.
    pub lines: Vec<String>,
    pub labels: BTreeMap<String, String>,
    /// CPU nanoseconds.
    pub nanos: i64,
}

impl FlatSample {
    /// Whether a function whose name ends with `suffix` is on the stack.
    pub fn has(&self, suffix: &str) -> bool {
        self.functions.iter().any(|f| f.ends_with(suffix))
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }
}

/// Gunzips `bytes`.
pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).expect("valid gzip");
    out
}

/// Decodes a gzipped pprof profile.
pub fn decode(gzipped: &[u8]) -> Profile {
    Profile::decode(gunzip(gzipped).as_slice()).expect("a pprof Profile")
}

/// Every `cpu-*.pb.gz` in `dir`, oldest window first, decoded.
pub fn read_profiles(dir: &Path) -> Vec<(PathBuf, Profile)> {
    profile_files(dir, "cpu-")
        .into_iter()
        .map(|(path, gzipped)| {
            let profile = decode(&gzipped);
            (path, profile)
        })
        .collect()
}

/// Every `<prefix>*.pb.gz` in `dir` and its contents, oldest window first (the names hold the
/// window's start).
pub fn profile_files(dir: &Path, prefix: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| {
        p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(prefix) && n.ends_with(".pb.gz"))
    });
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let gzipped = std::fs::read(&path).expect("readable profile");
            (path, gzipped)
        })
        .collect()
}

/// The samples of `profile`, flattened; checks the structure on the way (string 0 is empty,
/// every id resolves, values match the sample types).
pub fn flatten(profile: &Profile) -> Vec<FlatSample> {
    let text = |i: i64| profile.string_table.get(i as usize).cloned().expect("string index in range");
    assert_eq!(profile.string_table.first().map(String::as_str), Some(""), "string_table[0] must be empty");
    let locations: BTreeMap<u64, _> = profile.location.iter().map(|l| (l.id, l)).collect();
    let functions: BTreeMap<u64, _> = profile.function.iter().map(|f| (f.id, f)).collect();
    profile
        .sample
        .iter()
        .map(|sample| {
            assert_eq!(sample.value.len(), profile.sample_type.len());
            let mut names = Vec::new();
            let mut lines = Vec::new();
            for id in &sample.location_id {
                let location = locations.get(id).expect("location id resolves");
                for line in &location.line {
                    let function = functions.get(&line.function_id).expect("function id resolves");
                    names.push(text(function.name));
                    lines.push(format!("{}:{}", text(function.filename), line.line));
                }
            }
            let labels = sample.label.iter().map(|l| (text(l.key), text(l.str))).collect();
            FlatSample { functions: names, lines, labels, nanos: sample.value[0] }
        })
        .collect()
}

/// Every sample of every profile in `dir`.
pub fn all_samples(dir: &Path) -> Vec<FlatSample> {
    read_profiles(dir).iter().flat_map(|(_, p)| flatten(p)).collect()
}

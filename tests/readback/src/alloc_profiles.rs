//! Reading back the allocation profiles the runtime wrote (`alloc-*.pb.gz`), decoded
//! independently of the runtime: the pprof messages below are written here from the published
//! `profile.proto` (github.com/google/pprof, `proto/profile.proto`), field numbers and all, so a
//! mistake in the runtime's own definitions cannot cancel out in the tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use prost::Message;

use crate::profiles::{gunzip, profile_files};

/// `perftools.profiles.Profile`, the fields read here.
#[derive(Clone, PartialEq, Message)]
pub struct Profile {
    #[prost(message, repeated, tag = "1")]
    pub sample_type: Vec<ValueType>,
    #[prost(message, repeated, tag = "2")]
    pub sample: Vec<Sample>,
    #[prost(message, repeated, tag = "4")]
    pub location: Vec<Location>,
    #[prost(message, repeated, tag = "5")]
    pub function: Vec<Function>,
    #[prost(string, repeated, tag = "6")]
    pub string_table: Vec<String>,
    #[prost(int64, tag = "9")]
    pub time_nanos: i64,
    #[prost(int64, tag = "10")]
    pub duration_nanos: i64,
    #[prost(message, optional, tag = "11")]
    pub period_type: Option<ValueType>,
    #[prost(int64, tag = "12")]
    pub period: i64,
}

#[derive(Clone, PartialEq, Message)]
pub struct ValueType {
    #[prost(int64, tag = "1")]
    pub r#type: i64,
    #[prost(int64, tag = "2")]
    pub unit: i64,
}

#[derive(Clone, PartialEq, Message)]
pub struct Sample {
    #[prost(uint64, repeated, tag = "1")]
    pub location_id: Vec<u64>,
    #[prost(int64, repeated, tag = "2")]
    pub value: Vec<i64>,
    #[prost(message, repeated, tag = "3")]
    pub label: Vec<Label>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Label {
    #[prost(int64, tag = "1")]
    pub key: i64,
    #[prost(int64, tag = "2")]
    pub str: i64,
}

#[derive(Clone, PartialEq, Message)]
pub struct Location {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(message, repeated, tag = "4")]
    pub line: Vec<Line>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Line {
    #[prost(uint64, tag = "1")]
    pub function_id: u64,
}

#[derive(Clone, PartialEq, Message)]
pub struct Function {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(int64, tag = "2")]
    pub name: i64,
}

/// One sample of an allocation profile, flattened.
#[derive(Debug, Clone)]
pub struct AllocSample {
    /// Function names, leaf first, inlined functions before the function they were inlined in.
    pub functions: Vec<String>,
    pub labels: BTreeMap<String, String>,
    /// Estimated blocks and bytes allocated in the window.
    pub alloc_objects: i64,
    pub alloc_space: i64,
    /// Estimated blocks and bytes still allocated at the window's end.
    pub inuse_objects: i64,
    pub inuse_space: i64,
}

impl AllocSample {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }

    /// Whether a function whose name ends with `suffix` is on the stack.
    pub fn has(&self, suffix: &str) -> bool {
        self.functions.iter().any(|f| f.ends_with(suffix))
    }
}

/// One decoded `alloc-*.pb.gz`.
#[derive(Debug)]
pub struct AllocProfile {
    pub path: PathBuf,
    /// `(type, unit)` of each value, and of the period.
    pub sample_types: Vec<(String, String)>,
    pub period_type: (String, String),
    pub period: i64,
    pub samples: Vec<AllocSample>,
}

/// Decodes a gzipped allocation profile, checking its structure on the way: string 0 is empty,
/// every id resolves, each sample has one value per sample type.
pub fn decode(path: PathBuf, gzipped: &[u8]) -> AllocProfile {
    let profile = Profile::decode(gunzip(gzipped).as_slice()).expect("a pprof Profile");
    let text = |i: i64| profile.string_table.get(i as usize).cloned().expect("string index in range");
    assert_eq!(profile.string_table.first().map(String::as_str), Some(""), "string_table[0] must be empty");
    let pair = |t: &ValueType| (text(t.r#type), text(t.unit));
    let functions: BTreeMap<u64, String> = profile.function.iter().map(|f| (f.id, text(f.name))).collect();
    let locations: BTreeMap<u64, &Location> = profile.location.iter().map(|l| (l.id, l)).collect();
    let samples = profile
        .sample
        .iter()
        .map(|sample| {
            assert_eq!(sample.value.len(), profile.sample_type.len(), "one value per sample type");
            let functions = sample
                .location_id
                .iter()
                .flat_map(|id| &locations.get(id).expect("location id resolves").line)
                .map(|line| functions.get(&line.function_id).cloned().expect("function id resolves"))
                .collect();
            let labels = sample.label.iter().map(|l| (text(l.key), text(l.str))).collect();
            let [alloc_objects, alloc_space, inuse_objects, inuse_space] =
                sample.value[..].try_into().expect("four values");
            AllocSample { functions, labels, alloc_objects, alloc_space, inuse_objects, inuse_space }
        })
        .collect();
    AllocProfile {
        path,
        sample_types: profile.sample_type.iter().map(pair).collect(),
        period_type: profile.period_type.as_ref().map(pair).expect("a period type"),
        period: profile.period,
        samples,
    }
}

/// Every `alloc-*.pb.gz` in `dir`, oldest window first, decoded.
pub fn read(dir: &Path) -> Vec<AllocProfile> {
    profile_files(dir, "alloc-").into_iter().map(|(path, gzipped)| decode(path, &gzipped)).collect()
}

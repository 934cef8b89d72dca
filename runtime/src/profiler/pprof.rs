//! A window of samples as a pprof `Profile`: its sample types (CPU time, or allocated and live
//! objects and bytes), one `Sample` per distinct stack and label set with its labels, locations
//! per address with their inlined lines, functions, and a mapping per loaded module; and its
//! gzipped encoding.
//!
//! Runs on the collector thread.

use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prost::Message as _;

use super::aggregate::Window;
use super::proto::perftools::profiles::{Function, Label, Line, Location, Mapping, Profile, Sample, ValueType};
use super::ring::TRUNCATED;
use super::symbolize::{Frame, Resolved, Symbolizer};
use crate::encoding::gzip::{gzip, Compression};

/// The string table under construction; index 0 is "".
#[derive(Default)]
struct Strings {
    table: Vec<String>,
    index: HashMap<String, i64>,
}

impl Strings {
    fn new() -> Self {
        let mut strings = Self::default();
        strings.get("");
        strings
    }

    fn get(&mut self, text: &str) -> i64 {
        if let Some(&i) = self.index.get(text) {
            return i;
        }
        let i = self.table.len() as i64;
        self.table.push(text.to_owned());
        self.index.insert(text.to_owned(), i);
        i
    }
}

/// What a profile measures: its sample types and period, as `(type, unit)` pairs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Measure {
    sample_types: &'static [(&'static str, &'static str)],
    period_type: (&'static str, &'static str),
    period: i64,
    /// Whether each stack begins in the allocator hook, whose frames are left out.
    allocation: bool,
}

impl Measure {
    /// CPU time, sampled every `period` of it.
    pub(crate) fn cpu(period: Duration) -> Self {
        let period = i64::try_from(period.as_nanos()).unwrap_or(i64::MAX);
        Self { sample_types: &[("cpu", "nanoseconds")], period_type: ("cpu", "nanoseconds"), period, allocation: false }
    }

    /// Allocations sampled once per `rate` bytes on average: the four sample types of Go's heap
    /// profile, which pprof's tools and Pyroscope know.
    pub(crate) fn allocations(rate: u64) -> Self {
        Self {
            sample_types: &[
                ("alloc_objects", "count"),
                ("alloc_space", "bytes"),
                ("inuse_objects", "count"),
                ("inuse_space", "bytes"),
            ],
            period_type: ("space", "bytes"),
            period: i64::try_from(rate).unwrap_or(i64::MAX),
            allocation: true,
        }
    }
}

/// Builds the profile of `window`, which ended at `end`: each stack and label set's value is
/// `values` of it, one per sample type of `measure`.
pub(crate) fn build<V>(
    window: &Window<V>,
    end: SystemTime,
    measure: Measure,
    values: impl Fn(&V) -> Vec<i64>,
    symbols: &mut Symbolizer,
) -> Profile {
    let mut strings = Strings::new();
    let mut value_type = |(kind, unit)| ValueType { r#type: strings.get(kind), unit: strings.get(unit) };
    let sample_type: Vec<ValueType> = measure.sample_types.iter().map(|&t| value_type(t)).collect();
    let period_type = value_type(measure.period_type);

    let mapping: Vec<Mapping> = symbols
        .modules()
        .iter()
        .enumerate()
        .map(|(i, module)| {
            let range = module.text_in_memory();
            Mapping {
                id: i as u64 + 1,
                memory_start: range.start,
                memory_limit: range.end,
                file_offset: module.text_file_offset,
                filename: strings.get(&module.path.to_string_lossy()),
                build_id: strings.get(module.build_id.as_deref().unwrap_or("")),
                has_functions: module.has_file,
                has_filenames: module.has_file,
                has_line_numbers: module.has_file,
                has_inline_frames: module.has_file,
            }
        })
        .collect();

    symbols.resolve_in_address_order(window.stacks.iter().flat_map(|stack| stack.iter().copied()).filter(|&a| a != TRUNCATED));
    // The frames each stack starts with that are the allocator hook's, not the program's.
    let hook_frames: Vec<usize> = window
        .stacks
        .iter()
        .map(|stack| match measure.allocation {
            true => stack.iter().take_while(|&&a| a != TRUNCATED && is_allocator_hook(&symbols.resolve(a))).count(),
            false => 0,
        })
        .collect();
    let mut functions: Vec<Function> = Vec::new();
    let mut function_ids: HashMap<(Rc<str>, Option<Rc<str>>), u64> = HashMap::new();
    let mut locations: Vec<Location> = Vec::new();
    let mut location_ids: HashMap<u64, u64> = HashMap::new();
    let mut location_of = |address: u64, strings: &mut Strings| -> u64 {
        if let Some(&id) = location_ids.get(&address) {
            return id;
        }
        let resolved = match address {
            TRUNCATED => Rc::new(truncation_marker()),
            address => symbols.resolve(address),
        };
        let line = resolved
            .frames
            .iter()
            .map(|frame| {
                let key = (frame.function.clone(), frame.file.clone());
                let function_id = *function_ids.entry(key).or_insert_with(|| {
                    let name = strings.get(&frame.function);
                    functions.push(Function {
                        id: functions.len() as u64 + 1,
                        name,
                        system_name: name,
                        filename: strings.get(frame.file.as_deref().unwrap_or("")),
                        start_line: 0,
                    });
                    functions.len() as u64
                });
                Line { function_id, line: i64::from(frame.line), column: 0 }
            })
            .collect();
        let id = locations.len() as u64 + 1;
        locations.push(Location {
            id,
            mapping_id: resolved.module.map_or(0, |m| m as u64 + 1),
            // The marker stands for frames, not for an address.
            address: if address == TRUNCATED { 0 } else { address },
            line,
            is_folded: false,
        });
        location_ids.insert(address, id);
        id
    };

    let mut samples: Vec<Sample> = window
        .counts
        .iter()
        .map(|(&(stack, labels), value)| {
            let location_id =
                window.stacks[stack][hook_frames[stack]..].iter().map(|&a| location_of(a, &mut strings)).collect();
            let label = window.label_sets[labels]
                .iter()
                .map(|(key, value)| Label { key: strings.get(key), str: strings.get(value), num: 0, num_unit: 0 })
                .collect();
            Sample { location_id, value: values(value), label }
        })
        .collect();
    // A stable order makes profiles of the same work compare equal.
    samples.sort_by(|a, b| (&a.location_id, b.value[0]).cmp(&(&b.location_id, a.value[0])));

    let since_epoch = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos() as i64;
    Profile {
        sample_type,
        sample: samples,
        mapping,
        location: locations,
        function: functions,
        string_table: strings.table,
        drop_frames: 0,
        keep_frames: 0,
        time_nanos: since_epoch(window.start),
        duration_nanos: since_epoch(end) - since_epoch(window.start),
        period_type: Some(period_type),
        period: measure.period,
        comment: Vec::new(),
        default_sample_type: 0,
    }
}

/// Whether an address is the allocator hook's: its function (the outermost of those inlined
/// there) is the wrapper's own or the global allocator shim Rust generates (`__rustc::__rust_alloc`
/// and friends; `__rust_alloc` or `__rg_alloc` on older compilers).
fn is_allocator_hook(resolved: &Resolved) -> bool {
    resolved.frames.last().is_some_and(|frame| {
        let name = &*frame.function;
        name.contains("spanscope::profiler::alloc::") || ["__rustc::", "__rust_", "__rg_"].iter().any(|p| name.starts_with(p))
    })
}

/// What stands for the frames of a stack cut at `MAX_FRAMES`: a function named `[truncated]`,
/// at no address and in no module, as pprof's tools name it.
fn truncation_marker() -> Resolved {
    Resolved { module: None, frames: vec![Frame { function: "[truncated]".into(), file: None, line: 0 }] }
}

/// The profile, serialised and gzipped, as files and servers expect it. At the fastest level,
/// as Go's `runtime/pprof` writes its profiles: on a window of the demo's inventory (230 KB
/// encoded) it takes a sixth of the default level's time (1.0 ms against 5.8) for a file 4%
/// larger.
pub(crate) fn gzipped(profile: &Profile) -> Vec<u8> {
    gzip(&profile.encode_to_vec(), Compression::fast())
}

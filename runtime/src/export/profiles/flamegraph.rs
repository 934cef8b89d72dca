//! A flamegraph SVG of a pprof profile, drawn by `inferno` (the flamegraph of `cargo flamegraph`
//! and pprof-rs): callers below, callees above, each frame as wide as the CPU time spent in it
//! and its callees (in an allocation profile, the bytes it and its callees allocated, or left
//! live). In a browser it is interactive: hovering shows a frame's name, time and
//! share, a click zooms into a frame, and "Search" (or Ctrl-F) highlights the frames matching a
//! regular expression with the share of the time they cover. Frames are coloured by kind, as
//! inferno's Rust palette does: the standard library orange, other Rust code aqua, and code
//! without a Rust path (libc, C libraries) yellow.
//!
//! Each stack is drawn as the unwinder walked it, down to the thread's first frame: for a thread
//! started by `pthread_create` (every `std::thread`), libc's `clone3` and `start_thread`, then
//! Rust's thread entry; for the main thread `_start`, `__libc_start_main` and
//! `__libc_start_call_main`, then `main`. A frame is named by its function (an inlined function
//! has a frame of its own, above the one it was inlined in); one that no symbol of its module
//! covers is named after the module's file, `[libc.so.6]`, as `perf` names it: a libc without
//! its debug symbols names only its exported functions, so `clone3`, `start_thread` and
//! `__libc_start_call_main` are `[libc.so.6]`. `[unknown]` is an address in no loaded module,
//! and `[truncated]` stands for the frames beyond the deepest a sample records.
//!
//! Runs on the collector thread.

use std::collections::HashMap;
use std::path::Path;

use inferno::flamegraph::color::{MultiPalette, Palette};
use inferno::flamegraph::Options;

use crate::proto::perftools::profiles::{Location, Profile};

/// The name of a frame whose address is in no loaded module.
const UNKNOWN: &str = "[unknown]";

/// Which samples to draw: all, or those whose label `key` is `value` (`None`: has no such label).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Filter<'a> {
    All,
    Label { key: &'a str, value: Option<&'a str> },
}

/// What a flamegraph's widths stand for: one of the profile's sample types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Drawn {
    /// CPU time (a CPU profile's only type).
    CpuTime,
    /// Bytes allocated during the window (an allocation profile's `alloc_space`).
    AllocatedBytes,
    /// Bytes still allocated at the window's end (`inuse_space`).
    LiveBytes,
}

impl Drawn {
    /// The index of its sample type in the profile's values.
    fn index(self) -> usize {
        match self {
            Self::CpuTime => 0,
            Self::AllocatedBytes => 1,
            Self::LiveBytes => 3,
        }
    }
}

/// The flamegraph of the samples of `profile` that pass `filter`, titled `title`, as wide as
/// `drawn` says; `None` if the samples that pass have none of it.
pub(crate) fn render(
    profile: &Profile,
    drawn: Drawn,
    filter: Filter<'_>,
    title: &str,
) -> std::io::Result<Option<Vec<u8>>> {
    let period = profile.period.max(1);
    // CPU time is counted in timer periods, shown in milliseconds; bytes as they are.
    let unit = if drawn == Drawn::CpuTime { period } else { 1 };
    let stacks = folded_stacks(profile, filter, drawn.index(), unit);
    let total: i64 = stacks.values().sum();
    if total == 0 {
        return Ok(None);
    }
    let lines: Vec<String> = stacks.into_iter().map(|(stack, count)| format!("{stack} {count}")).collect();
    let mut options = Options::default();
    options.title = title.to_owned();
    let mib = total as f64 / f64::from(1 << 20);
    options.subtitle = Some(match drawn {
        Drawn::CpuTime => {
            let (seconds, hz) = ((total * period) as f64 / 1e9, (1e9 / period as f64).round());
            format!("{seconds:.2} s of CPU time, {hz} samples per CPU second")
        }
        Drawn::AllocatedBytes => format!("{mib:.1} MiB allocated (estimated from a sample per {period} bytes)"),
        Drawn::LiveBytes => format!("{mib:.1} MiB live at the end (estimated from a sample per {period} bytes)"),
    });
    options.colors = Palette::Multi(MultiPalette::Rust);
    // Colours by name: a function keeps its colour across windows and tag values.
    options.hash = true;
    if drawn == Drawn::CpuTime {
        options.count_name = "ms".to_owned();
        options.factor = period as f64 / 1e6;
    } else {
        options.count_name = "bytes".to_owned();
    }
    let mut svg = Vec::new();
    inferno::flamegraph::from_lines(&mut options, lines.iter().map(String::as_str), &mut svg)?;
    Ok(Some(svg))
}

/// The samples of `profile` that pass `filter`, as inferno reads them: each distinct stack as its
/// frame names, root first, joined by `;`, with the sum of its values at `index` in `unit`s.
/// Stacks that come to nothing are left out.
fn folded_stacks(profile: &Profile, filter: Filter<'_>, index: usize, unit: i64) -> HashMap<String, i64> {
    let strings = &profile.string_table;
    let text = |i: i64| strings.get(i as usize).map_or("", String::as_str);
    let functions: HashMap<u64, &str> = profile.function.iter().map(|f| (f.id, text(f.name))).collect();
    let modules: HashMap<u64, &str> = profile.mapping.iter().map(|m| (m.id, text(m.filename))).collect();
    let locations: HashMap<u64, String> =
        profile.location.iter().map(|l| (l.id, location_frames(l, &functions, &modules))).collect();

    let mut stacks: HashMap<String, i64> = HashMap::new();
    for sample in &profile.sample {
        if let Filter::Label { key, value } = filter {
            let found = sample.label.iter().find(|l| text(l.key) == key).map(|l| text(l.str));
            if found != value {
                continue;
            }
        }
        // Locations are stored leaf first.
        let frames: Vec<&str> =
            sample.location_id.iter().rev().map(|id| locations.get(id).map_or(UNKNOWN, String::as_str)).collect();
        let stack = if frames.is_empty() { UNKNOWN.to_owned() } else { frames.join(";") };
        *stacks.entry(stack).or_default() += sample.value.get(index).copied().unwrap_or(0) / unit;
    }
    stacks.retain(|_, count| *count > 0);
    stacks
}

/// The frames of one location, outermost first, joined by `;`: its functions, inlined ones after
/// the function they were inlined in, or, without any, its module's file name in brackets.
fn location_frames(location: &Location, functions: &HashMap<u64, &str>, modules: &HashMap<u64, &str>) -> String {
    if location.line.is_empty() {
        let module = modules.get(&location.mapping_id).and_then(|path| Path::new(path).file_name());
        return module.map_or_else(|| UNKNOWN.to_owned(), |name| format!("[{}]", frame_name(&name.to_string_lossy())));
    }
    // A location's lines are stored innermost first.
    let names: Vec<String> = location
        .line
        .iter()
        .rev()
        .map(|line| frame_name(functions.get(&line.function_id).copied().unwrap_or(UNKNOWN)))
        .collect();
    names.join(";")
}

/// `name` as a frame name: a `;` (in an array type, `<[u8; 4] as Debug>::fmt`) would split the
/// frame in two, so it becomes the full-width `；`.
fn frame_name(name: &str) -> String {
    name.replace(';', "；")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::perftools::profiles::{Function, Label, Line, Mapping, Sample};

    /// A profile of two samples (10 ms periods): `main → [libc] → work` with `tenant=a` thrice,
    /// and `main → <[u8; 4] as Debug>::fmt` inlined into `work` once, without a tenant.
    fn profile() -> Profile {
        let strings = ["", "main", "work", "<[u8; 4] as core::fmt::Debug>::fmt", "/usr/lib/libc.so.6", "tenant", "a"];
        let function = |id: u64, name: i64| Function { id, name, system_name: name, ..Default::default() };
        let line = |function_id| Line { function_id, line: 1, column: 0 };
        let location =
            |id, mapping_id, line: Vec<Line>| Location { id, mapping_id, address: 0x1000 * id, line, is_folded: false };
        let sample = |location_id: Vec<u64>, periods: i64, label: Vec<Label>| Sample {
            location_id,
            value: vec![periods * 10_000_000],
            label,
        };
        Profile {
            string_table: strings.map(String::from).to_vec(),
            function: vec![function(1, 1), function(2, 2), function(3, 3)],
            mapping: vec![Mapping { id: 1, filename: 4, ..Default::default() }],
            location: vec![
                location(1, 0, vec![line(1)]),
                location(2, 1, vec![]),
                location(3, 0, vec![line(2)]),
                location(4, 0, vec![line(3), line(2)]),
                location(5, 0, vec![]),
            ],
            sample: vec![
                sample(vec![3, 2, 1], 3, vec![Label { key: 5, str: 6, num: 0, num_unit: 0 }]),
                sample(vec![4, 1], 1, vec![]),
                sample(vec![5], 1, vec![Label { key: 5, str: 6, num: 0, num_unit: 0 }]),
            ],
            period: 10_000_000,
            ..Default::default()
        }
    }

    #[test]
    fn stacks_fold_root_first_with_inlined_frames_and_unnamed_code_by_module() {
        let all = folded_stacks(&profile(), Filter::All, 0, 10_000_000);
        let expected =
            [("main;[libc.so.6];work", 3), ("main;work;<[u8； 4] as core::fmt::Debug>::fmt", 1), ("[unknown]", 1)];
        assert_eq!(all, expected.map(|(stack, periods)| (stack.to_owned(), periods)).into_iter().collect());
        let tenant_a = folded_stacks(&profile(), Filter::Label { key: "tenant", value: Some("a") }, 0, 10_000_000);
        assert_eq!(tenant_a.values().sum::<i64>(), 4);
        let untagged = folded_stacks(&profile(), Filter::Label { key: "tenant", value: None }, 0, 10_000_000);
        assert_eq!(untagged.keys().collect::<Vec<_>>(), ["main;work;<[u8； 4] as core::fmt::Debug>::fmt"]);
    }

    #[test]
    fn the_svg_is_inferno_s_interactive_flamegraph_in_milliseconds() {
        let svg =
            String::from_utf8(render(&profile(), Drawn::CpuTime, Filter::All, "CPU test").unwrap().unwrap()).unwrap();
        assert!(svg.contains("function search(") && svg.contains("function zoom("), "inferno's script");
        assert!(svg.contains(">CPU test<"));
        assert!(svg.contains("<title>all (50 ms, 100%)</title>"), "{svg}");
        assert!(svg.contains("<title>[libc.so.6] (30 ms, 60.00%)</title>"), "{svg}");
    }

    #[test]
    fn allocation_flamegraphs_are_in_bytes_and_skip_what_comes_to_nothing() {
        let mut profile = profile();
        profile.period = 512 * 1024;
        // alloc_objects, alloc_space, inuse_objects, inuse_space.
        profile.sample[0].value = vec![3, 3 << 20, 1, 1 << 20];
        profile.sample[1].value = vec![1, 1 << 20, 0, 0];
        profile.sample[2].value = vec![0, 0, 0, 0];
        let svg = render(&profile, Drawn::AllocatedBytes, Filter::All, "t").unwrap().unwrap();
        let svg = String::from_utf8(svg).unwrap();
        assert!(svg.contains("4.0 MiB allocated (estimated from a sample per 524288 bytes)"), "{svg}");
        assert!(svg.contains("<title>[libc.so.6] (3,145,728 bytes, 75.00%)</title>"), "{svg}");
        assert!(!svg.contains("[unknown]"), "a stack of no bytes is not drawn");
        let live = folded_stacks(&profile, Filter::All, Drawn::LiveBytes.index(), 1);
        assert_eq!(live.into_values().collect::<Vec<_>>(), [1 << 20]);
        let untagged = Filter::Label { key: "tenant", value: None };
        assert!(render(&profile, Drawn::LiveBytes, untagged, "t").unwrap().is_none(), "nothing live untagged");
    }
}

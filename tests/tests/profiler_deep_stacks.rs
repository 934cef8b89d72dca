//! A CPU sample records 128 frames at most: a deeper stack keeps its innermost frames and ends,
//! at the root, with a `[truncated]` frame standing for the rest, in the pprof profile and in
//! the flamegraph. A stack within the limit has no such frame.

use std::hint::black_box;
use std::time::Duration;

use spanscope::profiler::ProfilerConfig;
use spanscope_tests::fresh_dir;
use spanscope_tests::profiles::{burn_for, read_profiles, sampler_lock};

/// Frames a sample records at most (the runtime's `MAX_FRAMES`).
const MAX_FRAMES: usize = 128;
const MARKER: &str = "[truncated]";
/// The test function, near the root of every stack it samples.
const TEST: &str = "profiler_deep_stacks::stacks_deeper_than_the_limit_end_with_a_truncation_frame";

#[inline(never)]
fn spin_deep() {
    black_box((0..20_000u64).fold(0u64, |a, i| black_box(a ^ i.rotate_left(5))));
}

#[inline(never)]
fn spin_shallow() {
    black_box((0..20_000u64).fold(0u64, |a, i| black_box(a ^ i.rotate_left(11))));
}

/// `depth` nested calls, then CPU work at the bottom. The addition after the call keeps it
/// from being a tail call.
#[inline(never)]
fn recurse(depth: u32) -> u32 {
    if depth == 0 {
        burn_for(Duration::from_millis(500), spin_deep);
        return 0;
    }
    black_box(recurse(black_box(depth - 1))) + 1
}

#[test]
fn stacks_deeper_than_the_limit_end_with_a_truncation_frame() {
    let _lock = sampler_lock();
    let dir = fresh_dir("deep");
    let config = spanscope::Config::new()
        .service_name("profiler-deep-stacks")
        .out_dir(&dir)
        .profiler(ProfilerConfig::new().hz(250).interval(Duration::from_secs(3600)));
    let guard = spanscope::init(config);
    assert_eq!(recurse(300), 300);
    burn_for(Duration::from_millis(300), spin_shallow);
    drop(guard);

    let profiles = read_profiles(&dir);
    let (mut deep, mut truncated, mut shallow) = (0, 0, 0);
    for (_, profile) in &profiles {
        let text = |i: i64| profile.string_table[i as usize].as_str();
        let function_of = |id: u64| -> Vec<&str> {
            let location = profile.location.iter().find(|l| l.id == id).expect("location id resolves");
            location
                .line
                .iter()
                .map(|line| {
                    let function = profile.function.iter().find(|f| f.id == line.function_id).expect("function");
                    text(function.name)
                })
                .collect()
        };
        for sample in &profile.sample {
            let names: Vec<Vec<&str>> = sample.location_id.iter().map(|&id| function_of(id)).collect();
            let has = |suffix: &str| names.iter().flatten().any(|name| name.ends_with(suffix));
            let markers = names.iter().filter(|functions| functions.contains(&MARKER)).count();
            if has("spin_deep") {
                deep += 1;
                if markers > 0 {
                    truncated += 1;
                    // The innermost frames, then the marker at the root end, alone.
                    assert_eq!(sample.location_id.len(), MAX_FRAMES + 1, "{names:?}");
                    assert_eq!(names.last().map(Vec::as_slice), Some(&[MARKER][..]), "{names:?}");
                    assert_eq!(markers, 1);
                    let marker = profile.location.iter().find(|l| Some(&l.id) == sample.location_id.last()).unwrap();
                    assert_eq!((marker.address, marker.mapping_id), (0, 0), "the marker is no code address");
                    assert!(!has(TEST), "the root end is cut");
                }
            } else if has("spin_shallow") {
                shallow += 1;
                assert_eq!(markers, 0, "a stack within the limit is whole: {names:?}");
                assert!(has(TEST), "{names:?}");
            }
        }
    }
    assert!(deep >= 20 && shallow >= 10, "{deep} deep samples, {shallow} shallow");
    // A walk the unwinder could not follow to the limit is shorter and has no marker.
    assert!(truncated * 100 >= deep * 90, "{truncated} of {deep} deep samples marked");

    let flamegraphs: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "svg"))
        .map(|path| std::fs::read_to_string(path).unwrap())
        .collect();
    assert!(!flamegraphs.is_empty());
    assert!(flamegraphs.iter().any(|svg| svg.contains(&format!("<title>{MARKER} ("))), "the flamegraph shows it");
}

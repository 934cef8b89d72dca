//! The flamegraphs the local exporter writes are inferno's interactive SVGs (its script for
//! search and zoom), one for the window and one per value of the flamegraph tag, and the frames
//! at the root of ordinary stacks all have names: a function's, or, for code no symbol covers
//! (a stripped libc's thread start), its module's file name in brackets; none is `[unknown]`.

use std::collections::BTreeSet;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use spanscope::profiled;
use spanscope::profiler::ProfilerConfig;
use spanscope_tests::fresh_dir;
use spanscope_tests::profiles::{burn_for, sampler_lock};

spanscope::tags! {
    pub worker: &'static str = "worker",
}

#[inline(never)]
fn spin_on_a_thread() {
    black_box((0..20_000u64).fold(0u64, |a, i| black_box(a ^ i.rotate_left(7))));
}

#[inline(never)]
fn spin_on_the_test_thread() {
    black_box((0..20_000u64).fold(0u64, |a, i| black_box(a ^ i.rotate_left(13))));
}

#[profiled(worker = "spawned")]
fn spawned_work() {
    burn_for(Duration::from_millis(600), spin_on_a_thread);
}

/// One frame of a flamegraph: its name (the tooltip without the time) and the top of its box.
struct Frame {
    name: String,
    y: f64,
}

/// Every frame inferno drew in `svg`: `<g><title>NAME (N ms, P%)</title><rect x=".." y="Y" ..`.
fn frames(svg: &str) -> Vec<Frame> {
    svg.split("<g><title>")
        .skip(1)
        .map(|frame| {
            let (title, rest) = frame.split_once("</title>").expect("a closed title");
            let name = title.rsplit_once(" (").expect("the time after the name").0;
            let y = rest.split_once(" y=\"").and_then(|(_, y)| y.split_once('"')).expect("the frame's y").0;
            Frame { name: unescape(name), y: y.parse().expect("a number") }
        })
        .collect()
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

/// The file names of the objects mapped into this process, as flamegraphs name unsymbolised code.
fn module_names() -> BTreeSet<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").expect("/proc/self/maps");
    maps.lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .filter_map(|path| PathBuf::from(path).file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect()
}

#[test]
fn flamegraphs_are_inferno_s_and_their_root_frames_have_names() {
    let _lock = sampler_lock();
    let dir = fresh_dir("flamegraph");
    let config = spanscope::Config::new()
        .service_name("profiler-flamegraph")
        .out_dir(&dir)
        .exporters([])
        .profiler(ProfilerConfig::new().hz(250).interval(Duration::from_secs(3600)).flamegraph_tag("worker"));
    let guard = spanscope::init(config);
    let thread = std::thread::spawn(spawned_work);
    burn_for(Duration::from_millis(600), spin_on_the_test_thread);
    thread.join().unwrap();
    let modules = module_names();
    drop(guard);

    let svgs: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".svg"))
        .map(|name| {
            let svg = std::fs::read_to_string(dir.join(&name)).unwrap();
            (name, svg)
        })
        .collect();
    // A window's, and one per value of the tag; a run across a window boundary has two sets.
    let pid = std::process::id().to_string();
    let kinds = [".svg", ".worker=spawned.svg", ".worker=untagged.svg"];
    let is = |name: &str, kind: &str| {
        let window = name.strip_prefix("cpu-").and_then(|n| n.strip_suffix(kind)).and_then(|n| n.split_once('-'));
        window.is_some_and(|(start, rest)| start.parse::<u64>().is_ok() && rest == pid)
    };
    let names: Vec<&str> = svgs.iter().map(|(name, _)| name.as_str()).collect();
    assert!(names.iter().all(|name| kinds.iter().any(|kind| is(name, kind))), "{names:?}");
    let [window, spawned, untagged] = kinds
        .map(|kind| svgs.iter().filter(|(name, _)| is(name, kind)).map(|(_, svg)| svg.as_str()).collect::<String>());
    assert!(!window.is_empty() && !spawned.is_empty() && !untagged.is_empty(), "{names:?}");

    for (name, svg) in &svgs {
        // inferno's script, started on load: the search box and click to zoom.
        assert!(svg.contains("onload=\"init(evt)\""), "{name}: no script");
        assert!(svg.contains("function search(") && svg.contains("function zoom("), "{name}: no search or zoom");
        let frames = frames(svg);
        let all = frames.iter().find(|f| f.name == "all").unwrap_or_else(|| panic!("{name}: no `all` frame"));
        let below_all = frames.iter().filter(|f| f.y < all.y).map(|f| f.y).fold(f64::MIN, f64::max);
        let roots: Vec<&str> = frames.iter().filter(|f| f.y == below_all).map(|f| f.name.as_str()).collect();
        assert!(!roots.is_empty(), "{name}: no root frame");
        for root in &roots {
            let unnamed_code = root.strip_prefix('[').and_then(|r| r.strip_suffix(']'));
            assert!(
                unnamed_code.is_none_or(|module| modules.contains(module)),
                "{name}: the root frame {root:?} is not a function or a loaded module; roots: {roots:?}"
            );
        }
    }
    let has = |svg: &str, function: &str| frames(svg).iter().any(|f| f.name.ends_with(function));
    assert!(has(&window, "::spin_on_a_thread") && has(&window, "::spin_on_the_test_thread"));
    assert!(has(&spawned, "::spin_on_a_thread") && !has(&spawned, "::spin_on_the_test_thread"), "worker=spawned");
    assert!(has(&untagged, "::spin_on_the_test_thread") && !has(&untagged, "::spin_on_a_thread"), "untagged");
}

//! A flamegraph SVG of a pprof profile: callers below, callees above, each frame as wide as
//! the CPU time spent in it and its callees; hovering shows the name, samples and share.
//!
//! A small self-contained writer (no scripts, no dependencies), so the local output needs
//! nothing to be viewed but a browser. Runs on the collector thread.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::proto::perftools::profiles::Profile;

const WIDTH: f64 = 1200.0;
const FRAME_HEIGHT: f64 = 16.0;
const TOP: f64 = 34.0;
/// Frames narrower than this many pixels are left out.
const MIN_WIDTH: f64 = 0.2;

struct Node {
    name: usize,
    value: i64,
    children: Vec<usize>,
}

/// Which samples to draw: all, or those whose label `key` is `value` (`None`: has no such label).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Filter<'a> {
    All,
    Label { key: &'a str, value: Option<&'a str> },
}

/// The flamegraph of the samples of `profile` that pass `filter`, titled `title`.
pub(crate) fn render(profile: &Profile, filter: Filter<'_>, title: &str) -> String {
    let strings = &profile.string_table;
    let text = |i: i64| strings.get(i as usize).map_or("", String::as_str);
    let locations: HashMap<u64, &_> = profile.location.iter().map(|l| (l.id, l)).collect();
    let functions: HashMap<u64, i64> = profile.function.iter().map(|f| (f.id, f.name)).collect();

    let mut nodes = vec![Node { name: 0, value: 0, children: Vec::new() }];
    for sample in &profile.sample {
        if let Filter::Label { key, value } = filter {
            let found = sample.label.iter().find(|l| text(l.key) == key).map(|l| text(l.str));
            if found != value {
                continue;
            }
        }
        let value = sample.value.first().copied().unwrap_or(0);
        nodes[0].value += value;
        let mut node = 0;
        // Root first: locations are stored leaf first, and a location's lines innermost first.
        for location in sample.location_id.iter().rev().filter_map(|id| locations.get(id)) {
            let names: Vec<i64> = if location.line.is_empty() {
                vec![-1]
            } else {
                location.line.iter().rev().map(|l| functions.get(&l.function_id).copied().unwrap_or(0)).collect()
            };
            for name in names {
                let name = usize::try_from(name).unwrap_or(usize::MAX);
                let child = nodes[node].children.iter().copied().find(|&c| nodes[c].name == name);
                let child = child.unwrap_or_else(|| {
                    nodes.push(Node { name, value: 0, children: Vec::new() });
                    let id = nodes.len() - 1;
                    nodes[node].children.push(id);
                    id
                });
                nodes[child].value += value;
                node = child;
            }
        }
    }

    let depth = max_depth(&nodes, 0);
    let height = TOP + (depth as f64 + 1.0) * FRAME_HEIGHT + 8.0;
    let total = nodes[0].value.max(1) as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<?xml version="1.0" standalone="no"?><svg version="1.1" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg"><style>text{{font-family:monospace;font-size:11px}} rect{{stroke:#fff;stroke-width:0.5}}</style><rect x="0" y="0" width="100%" height="100%" fill="#f8f8f8"/><text x="{}" y="20" text-anchor="middle" style="font-size:15px">"##,
        WIDTH / 2.0
    );
    escape(&mut svg, title);
    let _ = write!(svg, " · {:.2} s CPU</text>", nodes[0].value as f64 / 1e9);
    let mut stack = vec![(0usize, 0.0f64, 0usize)];
    while let Some((node, x, level)) = stack.pop() {
        let width = nodes[node].value as f64 / total * WIDTH;
        if width < MIN_WIDTH {
            continue;
        }
        let name = match nodes[node].name {
            0 if node == 0 => "all",
            usize::MAX => "[unknown]",
            i => strings.get(i).map_or("[unknown]", String::as_str),
        };
        let y = height - 8.0 - (level as f64 + 1.0) * FRAME_HEIGHT;
        let _ = write!(svg, "<g><title>");
        escape(&mut svg, name);
        let _ = write!(
            svg,
            " ({:.2} s, {:.2}%)</title><rect x=\"{x:.2}\" y=\"{y}\" width=\"{width:.2}\" height=\"{}\" fill=\"{}\"/>",
            nodes[node].value as f64 / 1e9,
            nodes[node].value as f64 / total * 100.0,
            FRAME_HEIGHT - 1.0,
            color(name)
        );
        let fits = ((width - 6.0) / 6.6) as usize;
        if fits >= 3 {
            let _ = write!(svg, "<text x=\"{:.2}\" y=\"{}\">", x + 3.0, y + FRAME_HEIGHT - 4.0);
            if name.chars().count() <= fits {
                escape(&mut svg, name);
            } else {
                escape(&mut svg, &name.chars().take(fits - 2).collect::<String>());
                svg.push_str("..");
            }
            svg.push_str("</text>");
        }
        svg.push_str("</g>");
        let mut child_x = x;
        for &child in &nodes[node].children {
            stack.push((child, child_x, level + 1));
            child_x += nodes[child].value as f64 / total * WIDTH;
        }
    }
    svg.push_str("</svg>\n");
    svg
}

fn max_depth(nodes: &[Node], root: usize) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(root, 0)];
    while let Some((node, level)) = stack.pop() {
        deepest = deepest.max(level);
        stack.extend(nodes[node].children.iter().map(|&c| (c, level + 1)));
    }
    deepest
}

/// A warm colour that stays the same for the same name.
fn color(name: &str) -> String {
    let hash = name.bytes().fold(0x811c_9dc5u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    format!("rgb({},{},{})", 205 + hash % 50, 80 + (hash >> 8) % 130, 40 + (hash >> 16) % 50)
}

fn escape(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c if (c as u32) < 0x20 => out.push(' '),
            c => out.push(c),
        }
    }
}

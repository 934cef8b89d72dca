//! Prints the results of the `spans` bench as a markdown table: ns per span for each library and
//! shape, the marginal cost of one more span, and the ratio to baseline libraries (by default
//! fastrace and tracing + OpenTelemetry).
//!
//! Usage (from the workspace root, after `cargo bench -p spanscope-benches --bench spans`):
//!
//! ```text
//! cargo run -p spanscope-benches --bin span-table [-- [CRITERION_DIR] [--baseline ID]...]
//! ```
//!
//! `CRITERION_DIR` defaults to `$CARGO_TARGET_DIR/criterion`, else `target/criterion` of the
//! current directory or of the workspace. Only
//! criterion's `new/` (latest run) estimates of the `spans/<n>` groups are read. The time per
//! iteration is criterion's headline estimate (the slope of the linear fit, or the mean when
//! the sampling was flat), divided by the group's element throughput.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::Value;

const GROUP_PREFIX: &str = "spans/";

/// One measured benchmark: `spans/<n>/<library>`.
struct Measurement {
    library: String,
    spans: u64,
    ns_per_iter: f64,
}

fn main() -> ExitCode {
    let mut dir = None;
    let mut baselines = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--baseline" => match args.next() {
                Some(id) => baselines.push(id),
                None => return usage("--baseline needs a library id"),
            },
            "-h" | "--help" => return usage(""),
            _ if dir.is_none() && !arg.starts_with('-') => dir = Some(PathBuf::from(arg)),
            _ => return usage(&format!("unexpected argument `{arg}`")),
        }
    }
    if baselines.is_empty() {
        baselines = vec![String::from("fastrace"), String::from("tracing_otel")];
    }
    let dir = dir.unwrap_or_else(|| match std::env::var_os("CARGO_TARGET_DIR") {
        Some(target) => PathBuf::from(target).join("criterion"),
        // `target/` of the current directory, else of the workspace this bin was built in
        // (so it also works when run from `benches/`).
        None => [PathBuf::from("target/criterion"), Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criterion")]
            .into_iter()
            .find(|dir| dir.is_dir())
            .unwrap_or_else(|| PathBuf::from("target/criterion")),
    });

    let mut found = Vec::new();
    if let Err(err) = collect(&dir, &mut found) {
        eprintln!("span-table: cannot read {}: {err}", dir.display());
        eprintln!("run `cargo bench -p spanscope-benches --bench spans` first, from the workspace root");
        return ExitCode::FAILURE;
    }
    if found.is_empty() {
        eprintln!("span-table: no `spans/<n>/...` results under {}", dir.display());
        return ExitCode::FAILURE;
    }
    print!("{}", render(&found, &baselines));
    ExitCode::SUCCESS
}

fn usage(problem: &str) -> ExitCode {
    if !problem.is_empty() {
        eprintln!("span-table: {problem}");
    }
    eprintln!("usage: span-table [CRITERION_DIR] [--baseline LIBRARY]...");
    if problem.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Walks `dir` for `new/benchmark.json` files of the `spans/<n>` groups.
fn collect(dir: &Path, out: &mut Vec<Measurement>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|name| name == "new") {
            if let Some(m) = read_measurement(&path) {
                out.push(m);
            }
        } else {
            collect(&path, out)?;
        }
    }
    Ok(())
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_str(&fs::read_to_string(path).ok()?).ok()
}

fn read_measurement(new_dir: &Path) -> Option<Measurement> {
    let bench = read_json(&new_dir.join("benchmark.json"))?;
    let group = bench.get("group_id")?.as_str()?;
    let spans: u64 = group.strip_prefix(GROUP_PREFIX)?.parse().ok()?;
    let library = bench.get("function_id")?.as_str()?.to_owned();
    let elements = bench.pointer("/throughput/Elements").and_then(Value::as_u64).unwrap_or(spans);
    let estimates = read_json(&new_dir.join("estimates.json"))?;
    let ns_per_iter = ["slope", "mean"].iter().find_map(|stat| estimates.get(stat)?.get("point_estimate")?.as_f64())?;
    Some(Measurement { library, spans: elements, ns_per_iter })
}

/// Formats the table: one row per library, one `ns/span` column per shape, the marginal cost
/// between the smallest and the largest shape, and the ratio to each of `baselines` at the
/// largest shape.
fn render(found: &[Measurement], baselines: &[String]) -> String {
    use std::fmt::Write as _;

    let mut shapes: Vec<u64> = found.iter().map(|m| m.spans).collect();
    shapes.sort_unstable();
    shapes.dedup();
    let (small, large) = (shapes[0], shapes[shapes.len() - 1]);

    // library -> spans -> ns per span
    let mut rows: BTreeMap<&str, BTreeMap<u64, f64>> = BTreeMap::new();
    for m in found {
        rows.entry(&m.library).or_default().insert(m.spans, m.ns_per_iter / m.spans as f64);
    }
    let per_span = |lib: &str, n: u64| rows.get(lib).and_then(|r| r.get(&n)).copied();

    let mut out = String::new();
    let mut header = String::from("| library |");
    let mut rule = String::from("| --- |");
    for n in &shapes {
        let _ = write!(header, " ns/span (root + {n}) |");
        rule.push_str(" ---: |");
    }
    if small != large {
        let _ = write!(header, " marginal ns/span |");
        rule.push_str(" ---: |");
    }
    for baseline in baselines {
        let _ = write!(header, " × {baseline} (root + {large}) |");
        rule.push_str(" ---: |");
    }
    let _ = writeln!(out, "{header}\n{rule}");

    // spanscope rows first, then the peers, each part alphabetically.
    let mut libraries: Vec<&str> = rows.keys().copied().collect();
    libraries.sort_by_key(|lib| (!lib.starts_with("spanscope"), *lib));
    for lib in libraries {
        let _ = write!(out, "| {lib} |");
        for &n in &shapes {
            let _ = write!(out, " {} |", fmt_ns(per_span(lib, n)));
        }
        if small != large {
            // The root's cost cancels out: (t_large - t_small) / (large - small), per iteration times.
            let marginal = per_span(lib, small)
                .zip(per_span(lib, large))
                .map(|(s, l)| (l * large as f64 - s * small as f64) / (large - small) as f64);
            let _ = write!(out, " {} |", fmt_ns(marginal));
        }
        for baseline in baselines {
            let ratio = per_span(lib, large).zip(per_span(baseline, large)).map(|(v, b)| v / b);
            let _ = write!(out, " {} |", fmt_ratio(ratio));
        }
        out.push('\n');
    }
    out
}

/// Three significant digits: `0.0123`, `0.513`, `2.71`, `27.1`.
fn fmt_ratio(ratio: Option<f64>) -> String {
    match ratio {
        Some(r) if r >= 10.0 => format!("{r:.1}"),
        Some(r) if r >= 1.0 => format!("{r:.2}"),
        Some(r) if r >= 0.1 => format!("{r:.3}"),
        Some(r) => format!("{r:.4}"),
        None => String::from("–"),
    }
}

fn fmt_ns(ns: Option<f64>) -> String {
    match ns {
        Some(ns) if ns >= 100.0 => format!("{ns:.0}"),
        Some(ns) if ns >= 10.0 => format!("{ns:.1}"),
        Some(ns) => format!("{ns:.2}"),
        None => String::from("–"),
    }
}

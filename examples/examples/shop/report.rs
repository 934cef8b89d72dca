//! What the demo prints once the services have flushed: the slowest trace as a tree across the
//! three services' `traces.jsonl` with the log lines its requests wrote (`logs.jsonl`), frontend's requests by route from its own metrics (rate,
//! errors, percentiles, and an exemplar leading to a trace), inventory's CPU time and allocated
//! bytes per tenant from its pprof files, and the files written. It reads them with the readers the tests use (`spanscope_readback`).

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::path::Path;

use spanscope_readback::alloc_profiles;
use spanscope_readback::logs::{read_logs, ExportedLog};
use spanscope_readback::metrics::{read_metrics, ExportedPoint};
use spanscope_readback::profiles::all_samples;
use spanscope_readback::{read_spans, ExportedSpan, SpanSet, CLIENT, SERVER};

use crate::exporters::{has_local, Exporters};

/// Prints the report on the output `services` (name, folder) left behind.
pub fn print(services: &[(&str, &Path)], exporters: &Exporters) {
    println!();
    let spans: Vec<ExportedSpan> = services.iter().flat_map(|(_, dir)| read_spans(&dir.join("traces.jsonl"))).collect();
    if !spans.is_empty() {
        let logs: Vec<ExportedLog> = services.iter().flat_map(|(_, dir)| read_logs(&dir.join("logs.jsonl"))).collect();
        print_slowest_trace(&spans, &logs);
    } else if has_local(&exporters.traces) {
        println!("No trace was written (OTEL_SDK_DISABLED, or a sampler that kept none).");
    } else {
        println!(
            "Traces went to {} (OTEL_TRACES_EXPORTER); add `local` to see the slowest one here.",
            exporters.traces
        );
    }
    if let Some((_, frontend)) = services.iter().find(|(name, _)| *name == "frontend") {
        print_routes(frontend, &spans);
    }
    println!();
    let inventory = services.iter().find(|(name, _)| *name == "inventory").map(|(_, dir)| *dir);
    match inventory.filter(|dir| has_profiles(dir)) {
        Some(dir) => print_tenants(dir),
        None if has_local(&exporters.profiles) => {
            println!("inventory wrote no CPU profile (too few samples, SPANSCOPE_PROFILER=off or OTEL_SDK_DISABLED).")
        }
        None => println!(
            "CPU profiles went to {} (SPANSCOPE_PROFILES_EXPORTER); add `local` to see inventory's by tenant here.",
            exporters.profiles
        ),
    }
    print_files(services);
}

/// The trace whose root took longest, as a tree: start (from the root's), duration, service,
/// kind and name of each span, children under their parents across processes; then the log
/// records made in it, found by their trace id.
fn print_slowest_trace(spans: &[ExportedSpan], logs: &[ExportedLog]) {
    let roots: Vec<&ExportedSpan> = spans.iter().filter(|s| s.parent_span_id.is_none()).collect();
    let Some(root) = roots.iter().copied().max_by_key(|s| s.end.saturating_sub(s.start)) else {
        println!("No complete trace was written.");
        return;
    };
    let trace = spans.in_trace(&root.trace_id);
    println!(
        "Slowest of {} traces: {} ({} spans, {:.2} ms)",
        roots.len(),
        root.trace_id,
        trace.len(),
        millis(root.end.saturating_sub(root.start))
    );
    println!("{:>9} {:>9}  {:<10} {:<9} span", "start ms", "took ms", "service", "kind");
    print_span(&trace, root, root.start, "", "");
    print_trace_logs(&trace, logs, root);
}

/// The records made in `root`'s trace, in time order: start (from the root's), service, level,
/// body, attributes, and the span each was made in.
fn print_trace_logs(trace: &[&ExportedSpan], logs: &[ExportedLog], root: &ExportedSpan) {
    let mut lines: Vec<&ExportedLog> =
        logs.iter().filter(|log| log.trace_id.as_deref() == Some(root.trace_id.as_str())).collect();
    if lines.is_empty() {
        return;
    }
    lines.sort_by_key(|log| log.time);
    println!();
    println!("Its log lines (logs.jsonl, joined by trace id):");
    println!("{:>9}  {:<10} {:<5} message", "at ms", "service", "level");
    for log in lines {
        let span = log.span_id.as_deref().and_then(|id| trace.iter().find(|s| s.span_id == id));
        let fields: String = log
            .attributes
            .iter()
            .filter(|(key, _)| !key.starts_with("code."))
            .map(|(key, value)| format!(" {key}={value}"))
            .collect();
        println!(
            "{:>9.2}  {:<10} {:<5} {}{fields}{}",
            millis(log.time.saturating_sub(root.start)),
            log.service,
            log.severity_text,
            log.body,
            span.map(|s| format!("  (in {})", s.name)).unwrap_or_default()
        );
    }
}

/// One line for `span`, then its children: `lead` goes before its name, `indent` before its
/// children's.
fn print_span(trace: &[&ExportedSpan], span: &ExportedSpan, zero: u128, lead: &str, indent: &str) {
    let kind = match span.kind {
        SERVER => "server",
        CLIENT => "client",
        _ => "internal",
    };
    let tenant = span.attributes.get("tenant").and_then(|t| t.as_str()).map(|t| format!("  tenant={t}"));
    println!(
        "{:>9.2} {:>9.2}  {:<10} {:<9} {lead}{}{}",
        millis(span.start.saturating_sub(zero)),
        millis(span.end.saturating_sub(span.start)),
        span.service,
        kind,
        span.name,
        tenant.unwrap_or_default()
    );
    let mut children: Vec<&ExportedSpan> =
        trace.iter().copied().filter(|s| s.parent_span_id.as_deref() == Some(span.span_id.as_str())).collect();
    children.sort_by_key(|s| s.start);
    for (i, child) in children.iter().enumerate() {
        let last = i + 1 == children.len();
        let (lead, more) = if last { ("└─ ", "   ") } else { ("├─ ", "│  ") };
        print_span(trace, child, zero, &format!("{indent}{lead}"), &format!("{indent}{more}"));
    }
}

/// Frontend's requests per route from its own metrics (the server layer's
/// `http.server.request.duration`, last collection in `metrics.jsonl`): rate, error rate,
/// latency percentiles, and the exemplar of the slowest bucket with the trace it leads to.
fn print_routes(dir: &Path, spans: &[ExportedSpan]) {
    let collections = read_metrics(&dir.join("metrics.jsonl"));
    let Some(duration) = collections.last().and_then(|last| last.metric("http.server.request.duration")) else {
        return;
    };
    let mut routes: BTreeMap<String, Vec<&ExportedPoint>> = BTreeMap::new();
    for point in &duration.points {
        let route = point.attributes.get("http.route").and_then(|r| r.as_str()).unwrap_or("(no route)");
        let method = point.attributes.get("http.request.method").and_then(|m| m.as_str()).unwrap_or("");
        routes.entry(format!("{method} {route}")).or_default().push(point);
    }
    println!();
    println!("frontend's requests by route, from its metrics (http.server.request.duration):");
    println!("  {:<40} {:>8} {:>7} {:>8} {:>8} {:>8}", "route", "req/s", "errors", "p50 ms", "p95 ms", "p99 ms");
    for (route, points) in &routes {
        let count: u64 = points.iter().filter_map(|p| p.histogram.as_ref()).map(|h| h.count).sum();
        let failed: u64 = points
            .iter()
            .filter(|p| p.attributes.contains_key("error.type"))
            .filter_map(|p| p.histogram.as_ref())
            .map(|h| h.count)
            .sum();
        let window = points.iter().map(|p| p.time.saturating_sub(p.start.unwrap_or(p.time))).max().unwrap_or(0);
        let rate = if window > 0 { count as f64 / (window as f64 / 1e9) } else { 0.0 };
        let merged = merged_buckets(points);
        let percentile =
            |q: f64| merged.as_ref().map_or(f64::NAN, |(bounds, counts)| percentile(bounds, counts, q) * 1e3);
        println!(
            "  {route:<40} {rate:>8.1} {:>6.1}% {:>8.2} {:>8.2} {:>8.2}",
            100.0 * failed as f64 / count.max(1) as f64,
            percentile(0.50),
            percentile(0.95),
            percentile(0.99)
        );
        // The exemplar of the highest bucket that has one: a slow request, with its trace.
        let slowest = points
            .iter()
            .flat_map(|p| &p.exemplars)
            .filter(|e| e.trace_id.is_some())
            .max_by(|a, b| a.value.total_cmp(&b.value));
        if let Some(exemplar) = slowest {
            let trace = exemplar.trace_id.as_deref().unwrap_or_default();
            let in_trace = spans.in_trace(trace);
            let root = in_trace.iter().find(|s| s.parent_span_id.is_none());
            let profile = exemplar.filtered_attributes.get("pyroscope.profile.id").and_then(|p| p.as_str());
            println!(
                "    exemplar {:.2} ms -> trace {trace}{}{}",
                exemplar.value * 1e3,
                root.map(|r| format!(" ({}, {} spans)", r.name, in_trace.len())).unwrap_or_default(),
                profile.map(|p| format!(", CPU profile pyroscope.profile.id={p}")).unwrap_or_default()
            );
        }
    }
}

/// The bucket bounds and the counts of `points` summed, if they are histograms with the same
/// bounds.
fn merged_buckets(points: &[&ExportedPoint]) -> Option<(Vec<f64>, Vec<u64>)> {
    let mut histograms = points.iter().filter_map(|p| p.histogram.as_ref());
    let first = histograms.next()?;
    let mut counts = first.bucket_counts.clone();
    for histogram in histograms.filter(|h| h.explicit_bounds == first.explicit_bounds) {
        for (sum, count) in counts.iter_mut().zip(&histogram.bucket_counts) {
            *sum += count;
        }
    }
    Some((first.explicit_bounds.clone(), counts))
}

/// The `q` quantile of a bucketed distribution, interpolated linearly inside its bucket (the
/// first bucket from 0, the last one reported at its lower bound).
fn percentile(bounds: &[f64], counts: &[u64], q: f64) -> f64 {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return f64::NAN;
    }
    let rank = q * total as f64;
    let mut below = 0.0;
    for (bucket, count) in counts.iter().enumerate() {
        let count = *count as f64;
        if below + count >= rank && count > 0.0 {
            let low = if bucket == 0 { 0.0 } else { bounds[bucket - 1] };
            let Some(high) = bounds.get(bucket) else { return low };
            return low + (high - low) * (rank - below) / count;
        }
        below += count;
    }
    bounds.last().copied().unwrap_or(f64::NAN)
}

fn millis(nanos: u128) -> f64 {
    nanos as f64 / 1e6
}

fn has_profiles(dir: &Path) -> bool {
    files(dir).iter().any(|name| name.ends_with(".pb.gz"))
}

/// Inventory's CPU time per tenant (the `tenant` label `#[profiled]` put on the samples), with
/// the functions it was spent in: self time, by the leaf of each sample and the demo's function
/// it ran under; and each tenant's share of the CPU time and of the bytes allocated under its tag
/// (estimated from the allocation profile).
fn print_tenants(dir: &Path) {
    let mut allocated: BTreeMap<String, i64> = BTreeMap::new();
    for sample in alloc_profiles::read(dir).iter().flat_map(|profile| &profile.samples) {
        if let Some(tenant) = sample.label("tenant") {
            *allocated.entry(tenant.to_owned()).or_default() += sample.alloc_space;
        }
    }
    let all_allocated: i64 = allocated.values().sum();
    let mut tenants: BTreeMap<String, BTreeMap<String, u128>> = BTreeMap::new();
    let mut untagged = 0;
    for sample in all_samples(dir) {
        let nanos = u128::try_from(sample.nanos).unwrap_or(0);
        let (Some(tenant), Some(leaf)) = (sample.label("tenant"), sample.functions.first()) else {
            untagged += nanos;
            continue;
        };
        let leaf = tidy(leaf);
        // Ours: the innermost function of the demo or its business logic (`shop::..` once
        // tidied), else (inlined, named without its path) the innermost in their files.
        let frames = || sample.functions.iter().zip(&sample.lines);
        let ours = frames()
            .find(|(function, _)| tidy(function).starts_with("shop::"))
            .or_else(|| frames().find(|(_, line)| line.contains("examples/shop/") || line.contains("src/shop.rs")))
            .map(|(function, _)| tidy(function));
        let function = match ours {
            Some(ours) if ours != leaf => format!("{leaf}  (in {ours})"),
            _ => leaf,
        };
        *tenants.entry(tenant.to_owned()).or_default().entry(function).or_default() += nanos;
    }
    let total = |functions: &BTreeMap<String, u128>| functions.values().sum::<u128>();
    let mut tenants: Vec<(String, BTreeMap<String, u128>)> = tenants.into_iter().collect();
    tenants.sort_by_key(|(_, functions)| Reverse(total(functions)));
    let tagged: u128 = tenants.iter().map(|(_, functions)| total(functions)).sum();
    println!(
        "inventory's CPU profile by tenant ({:.0} ms in #[profiled] pricing, {:.0} ms elsewhere):",
        millis(tagged),
        millis(untagged)
    );
    for (tenant, functions) in &tenants {
        let spent = total(functions);
        let cpu_share = 100.0 * spent as f64 / tagged.max(1) as f64;
        let bytes = allocated.get(tenant).copied().unwrap_or(0);
        let allocation = match all_allocated {
            0 => String::new(),
            all => format!(
                "; {:.1} MiB allocated, {:.0}% of the tenants' bytes",
                bytes as f64 / f64::from(1 << 20),
                100.0 * bytes as f64 / all as f64
            ),
        };
        println!(
            "  {tenant}: {:.0} ms, {cpu_share:.0}% of the tenants' CPU{allocation}; top functions by self time:",
            millis(spent)
        );
        let mut top: Vec<(&String, &u128)> = functions.iter().collect();
        top.sort_by_key(|(_, nanos)| Reverse(**nanos));
        for (function, nanos) in top.into_iter().take(5) {
            println!("    {:>5.1}%  {function}", 100.0 * *nanos as f64 / spent as f64);
        }
    }
}

/// `name` without the closures the attributes wrap function bodies in, and the business logic
/// (`examples::shop`) named like the demo's own modules (`shop::..`).
fn tidy(name: &str) -> String {
    let name = name.replace("::{{closure}}", "");
    name.strip_prefix("examples::").map_or(name.clone(), str::to_owned)
}

/// Every file each service wrote.
fn print_files(services: &[(&str, &Path)]) {
    let written: Vec<(&str, Vec<String>)> = services.iter().map(|(name, dir)| (*name, files(dir))).collect();
    if written.iter().all(|(_, files)| files.is_empty()) {
        return;
    }
    println!();
    println!("Files written (open a .svg flamegraph in a browser; `go tool pprof -http=: FILE.pb.gz`):");
    for ((name, files), (_, dir)) in written.iter().zip(services) {
        for (i, file) in files.iter().enumerate() {
            let label = if i == 0 { *name } else { "" };
            println!("  {label:<10} {}", dir.join(file).display());
        }
    }
}

/// The names of the files in `dir`, sorted: `traces.jsonl` first, then the profiles by window.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
        .unwrap_or_default();
    names.sort_by_key(|name| (!name.ends_with(".jsonl"), name.clone()));
    names
}

//! Runs the `shop` demo (frontend → orders → inventory, three processes, HTTP then gRPC) with a
//! few checkouts and checks what it wrote and printed: one trace per checkout across the three
//! services with every parent link resolved across processes, one log line per request and
//! service joined to its span, inventory's pprof and flamegraphs with every tenant's label, and a
//! report naming the slowest trace with its log lines, and the tenants.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use examples::built_example;
use spanscope_readback::logs::read_logs;
use spanscope_readback::profiles::all_samples;
use spanscope_readback::{fresh_dir, read_spans, ExportedSpan, SpanSet, CLIENT, INTERNAL, SERVER};

const CHECKOUTS: usize = 24;
const TENANTS: [&str; 4] = ["acme", "globex", "initech", "umbrella"];

/// The only span of `trace` whose parent is `parent`, checked to be `(service, kind, name)`. (By
/// ids only: start times from different processes are not compared.)
fn only_child<'a>(trace: &[&'a ExportedSpan], parent: &ExportedSpan, expected: (&str, u64, &str)) -> &'a ExportedSpan {
    let children = children(trace, parent);
    assert_eq!(children.len(), 1, "{} should have one child, has {:?}", parent.name, names(&children));
    let child = children[0];
    assert_eq!((child.service.as_str(), child.kind, child.name.as_str()), expected);
    child
}

fn children<'a>(trace: &[&'a ExportedSpan], parent: &ExportedSpan) -> Vec<&'a ExportedSpan> {
    let mut children: Vec<_> =
        trace.iter().copied().filter(|s| s.parent_span_id.as_deref() == Some(parent.span_id.as_str())).collect();
    children.sort_by(|a, b| a.name.cmp(&b.name));
    children
}

fn names(spans: &[&ExportedSpan]) -> Vec<String> {
    spans.iter().map(|s| s.name.clone()).collect()
}

/// The names of the files in `dir`.
fn files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir).expect("output folder").map(|e| e.unwrap().file_name().into_string().unwrap()).collect()
}

#[test]
fn every_checkout_is_one_trace_across_three_services_and_the_profile_knows_its_tenant() {
    let out = fresh_dir("shop");
    let mut command = Command::new(built_example("shop"));
    command.args(["--requests", &CHECKOUTS.to_string()]).env("SPANSCOPE_OUT_DIR", &out);
    // The cheapest tenant spends a few ms in a debug build: sample often enough to see it.
    command.env("SPANSCOPE_PROFILE_HZ", "1000");
    // Symbolising a debug build's CPU and allocation profiles on a loaded machine can outlast
    // the default shutdown deadline (5 s, half of it for the last profiles).
    command.env("SPANSCOPE_SHUTDOWN_TIMEOUT", "60000");
    for name in [
        "OTEL_SDK_DISABLED",
        "OTEL_SERVICE_NAME",
        "OTEL_TRACES_EXPORTER",
        "OTEL_TRACES_SAMPLER",
        "OTEL_LOGS_EXPORTER",
        "SPANSCOPE_LOGS_FILTER",
        "OTEL_PROPAGATORS",
        "SPANSCOPE_PROFILER",
        "SPANSCOPE_PROFILES_EXPORTER",
        "SPANSCOPE_FLAMEGRAPH_TAG",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "SW_AGENT_COLLECTOR_BACKEND_SERVICES",
        "DD_TRACE_AGENT_URL",
        "DD_AGENT_HOST",
        "PYROSCOPE_SERVER_ADDRESS",
        "SHOP_REQUESTS",
        "SPANSCOPE_ALLOC_SAMPLE_BYTES",
    ] {
        command.env_remove(name);
    }
    let output = command.output().expect("run the example");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));

    let dir = |service: &str| out.join("shop").join(service);
    let spans: Vec<ExportedSpan> =
        ["frontend", "orders", "inventory"].iter().flat_map(|s| read_spans(&dir(s).join("traces.jsonl"))).collect();
    let roots: Vec<&ExportedSpan> = spans.iter().filter(|s| s.parent_span_id.is_none()).collect();
    assert_eq!(roots.len(), CHECKOUTS, "one trace per checkout, rooted at frontend");
    let mut trace_ids = BTreeSet::new();
    for root in &roots {
        assert!(trace_ids.insert(&root.trace_id), "a trace id per checkout");
        assert_eq!((root.service.as_str(), root.kind), ("frontend", SERVER));
        assert_eq!(root.name, "POST /checkout/{tenant}/{item}/{quantity}");
        let trace = spans.in_trace(&root.trace_id);
        let call_orders = only_child(&trace, root, ("frontend", CLIENT, "POST"));
        let orders = only_child(&trace, call_orders, ("orders", SERVER, "POST /orders/{tenant}/{item}/{quantity}"));
        let call_inventory = only_child(&trace, orders, ("orders", CLIENT, "shop.Inventory/Reserve"));
        let inventory = only_child(&trace, call_inventory, ("inventory", SERVER, "shop.Inventory/Reserve"));
        let local = children(&trace, inventory);
        assert_eq!(names(&local), ["hold", "price"]);
        assert!(local.iter().all(|s| (s.service.as_str(), s.kind) == ("inventory", INTERNAL)));
        assert_eq!(names(&children(&trace, local[1])), ["best_tier_price", "fraud_risk"]);
        assert_eq!(trace.len(), 9, "nothing else in the trace: {:?}", names(&trace));
        // The tenant priced is the one frontend was asked for.
        let tenant = local[1].attributes["tenant"].as_str().expect("tenant tag");
        let path = root.attributes["url.path"].as_str().expect("url.path");
        assert!(path.starts_with(&format!("/checkout/{tenant}/")), "{path} priced for {tenant}");
    }
    assert_eq!(spans.len(), 9 * CHECKOUTS, "every span belongs to a checkout's trace");

    // One line per request and service, each in the span it was logged from.
    for (service, body, span) in [
        ("frontend", "checkout", "POST /checkout/{tenant}/{item}/{quantity}"),
        ("orders", "order placed", "POST /orders/{tenant}/{item}/{quantity}"),
        ("inventory", "priced", "price"),
    ] {
        let logs = read_logs(&dir(service).join("logs.jsonl"));
        assert_eq!(logs.len(), CHECKOUTS, "{service}: {logs:?}");
        for log in &logs {
            assert_eq!(log.body, body);
            let made_in = spans.iter().find(|s| Some(&s.span_id) == log.span_id.as_ref()).expect("its span");
            assert_eq!((made_in.name.as_str(), Some(&made_in.trace_id)), (span, log.trace_id.as_ref()));
            if service == "inventory" {
                assert_eq!(log.attributes["tenant"], made_in.attributes["tenant"], "the #[profiled] tag");
            }
        }
    }

    let inventory = dir("inventory");
    let written = files(&inventory);
    let nonempty = |suffix: &str| {
        written.iter().any(|name| name.ends_with(suffix) && std::fs::metadata(inventory.join(name)).unwrap().len() > 0)
    };
    assert!(nonempty(".pb.gz") && nonempty(".svg"), "inventory's pprof and flamegraph: {written:?}");
    let tenants: BTreeSet<&str> = TENANTS.into_iter().collect();
    for tenant in &tenants {
        assert!(nonempty(&format!(".tenant={tenant}.svg")), "{tenant}'s flamegraph: {written:?}");
    }
    let samples = all_samples(&inventory);
    let labelled: BTreeSet<&str> = samples.iter().filter_map(|s| s.label("tenant")).collect();
    assert_eq!(labelled, tenants, "every tenant's CPU time is labelled in the profile");

    let slowest = roots.iter().max_by_key(|s| s.end - s.start).unwrap();
    assert!(stdout.contains(&format!("Slowest of {CHECKOUTS} traces: {}", slowest.trace_id)), "{stdout}");
    assert!(stdout.contains("Its log lines") && stdout.contains("order placed"), "{stdout}");
    for tenant in tenants {
        assert!(stdout.contains(&format!("  {tenant}: ")), "the report shows {tenant}'s top functions: {stdout}");
    }
}

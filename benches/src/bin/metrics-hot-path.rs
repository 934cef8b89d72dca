//! The metrics hot path under callgrind (`benches/callgrind/metrics.sh`): records one case N
//! times, so that instructions per recording are (total at N₂ − total at N₁) / (N₂ − N₁), with
//! start-up and first-use costs cancelled out. Cases: `counter` (unbound, two attributes),
//! `bound` (a bound counter), `histogram` (unbound, two attributes, 14 buckets), `off` (a
//! counter with metrics off: `OTEL_METRICS_EXPORTER=none`), and `entry` / `entry-off`: an
//! `#[entry]` function in an unsampled trace with metrics on and off, whose difference is what
//! `spanscope.span.duration` adds to a call.
//!
//! ```text
//! metrics-hot-path CASE N
//! ```

use std::hint::black_box;

spanscope::tags! {
    route: &'static str = "http.route",
    tenant: String,
}

spanscope::metrics! {
    /// Orders placed.
    orders: Counter<u64> = "shop.orders" { unit: "{order}", attributes: [route, tenant] },
    /// Time to price a basket.
    price_duration: Histogram<f64> = "shop.price.duration" {
        unit: "s",
        attributes: [route, tenant],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0],
    },
}

#[spanscope::entry(name = "handler")]
#[inline(never)]
fn handler(input: u64) -> u64 {
    black_box(input)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().unwrap_or_default();
    let n: u64 = args.next().and_then(|n| n.parse().ok()).expect("usage: metrics-hot-path CASE N");
    let dir = std::env::temp_dir().join(format!("spanscope-metrics-hot-path-{}", std::process::id()));
    let mut config = spanscope::Config::new().service_name("hot-path").out_dir(&dir);
    if case == "off" || case == "entry-off" {
        config = config.metrics_exporters([]);
    }
    if case.starts_with("entry") {
        config = config.sampler(spanscope::Sampler::AlwaysOff);
    }
    let guard = spanscope::init(config);
    let attributes = || orders::Attributes { route: "/checkout", tenant: "acme" };
    match case.as_str() {
        "counter" | "off" => (0..n).for_each(|_| orders::add(black_box(1), attributes())),
        "bound" => {
            let bound = orders::bind(attributes());
            (0..n).for_each(|_| bound.add(black_box(1)));
        }
        "histogram" => (0..n).for_each(|_| {
            price_duration::record(black_box(0.042), price_duration::Attributes { route: "/checkout", tenant: "acme" })
        }),
        "entry" | "entry-off" => (0..n).for_each(|i| {
            black_box(handler(i));
        }),
        other => panic!("unknown case {other:?}: counter, bound, histogram, off, entry or entry-off"),
    }
    drop(guard);
    let _ = std::fs::remove_dir_all(dir);
}

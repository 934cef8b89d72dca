spanscope::metrics! {
    pub duration: Histogram<f64> { unit: "µs" },
    pub size: Histogram<u64> { unit: "{64 characters, one more than OpenTelemetry allows for a unit..}" },
    pub fine: Counter<u64> { unit: "{request}" },
}

fn main() {
    duration::record(1.0, duration::Attributes {});
}

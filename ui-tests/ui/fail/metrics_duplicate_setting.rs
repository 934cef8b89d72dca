spanscope::metrics! {
    pub duration: Histogram<f64> { unit: "s", buckets: [1.0], unit: "ms", buckets: [2.0] },
}

fn main() {
    duration::record(1.0, duration::Attributes {});
}

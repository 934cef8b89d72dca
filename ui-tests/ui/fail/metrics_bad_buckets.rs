spanscope::metrics! {
    pub equal: Histogram<f64> { buckets: [0.1, 0.5, 0.5, 1.0] },
    pub decreasing: Histogram<f64> { buckets: [-1, 10, 5] },
    pub not_numbers: Histogram<f64> { buckets: [0.1, LIMIT, "1.0", 2.0] },
    pub infinite: Histogram<f64> { buckets: [1.0, 1e400] },
    pub not_a_list: Histogram<f64> { buckets: 0.5 },
    pub fine: Histogram<f64> { buckets: [-1.5, 0, 2e3] },
}

fn main() {
    equal::record(1.0, equal::Attributes {});
    decreasing::record(1.0, decreasing::Attributes {});
}

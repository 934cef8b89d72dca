spanscope::tags! {
    pub tenant: String,
}

// The rest of the declaration still expands: `tenant` is its attribute.
spanscope::metrics! {
    pub latency: Histogram<f64> { buckts: [1.0, 2.0], attributes: [tenant] },
    pub orders: Counter<u64> { units: "{order}", colour: "red", attributes: [tenant] },
    pub carts: ObservableGauge<i64> { callbak: carts, callback: carts },
    pub sized: Histogram<f64> { max_size: 160 },
}

fn carts(_: &mut carts::Observer<'_>) {}

fn main() {
    latency::record(1.0, latency::Attributes { tenant: "acme" });
    orders::add(1, orders::Attributes { tenant: "acme" });
}

fn read(_: &mut carts::Observer<'_>) {}

spanscope::metrics! {
    pub orders: Counter<u64> { buckets: [1.0, 2.0] },
    pub queue: Gauge<i64> { callback: read },
    pub carts: ObservableGauge<i64> { buckets: [1.0], callback: read },
}

fn main() {
    orders::add(1, orders::Attributes {});
}

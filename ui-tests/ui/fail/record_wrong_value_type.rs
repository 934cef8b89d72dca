spanscope::metrics! {
    pub orders: Counter<u64>,
    pub queue: UpDownCounter<i64>,
    pub duration: Histogram<f64>,
}

fn main() {
    spanscope::record!(orders, 1.5);
    spanscope::record!(orders, -1);
    spanscope::record!(queue, 1u64);
    spanscope::record!(duration, "1s");
    orders::bind(orders::Attributes {}).add(0.5);
}

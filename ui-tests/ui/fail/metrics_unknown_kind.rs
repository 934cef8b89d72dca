// A misspelt kind is taken for the one it is close to, so its uses compile; an unknown one is not
// expanded.
spanscope::metrics! {
    pub orders: Countr<u64>,
    pub latency: ExponentialHistogram<f64>,
    pub size: Summary<f64>,
    pub open: observablegauge<i64> { callback: open },
}

fn open(observer: &mut open::Observer<'_>) {
    observer.record(1, open::Attributes {});
}

fn main() {
    orders::add(1, orders::Attributes {});
    open::register();
}

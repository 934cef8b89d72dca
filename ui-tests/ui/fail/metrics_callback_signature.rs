spanscope::tags! {
    pub tenant: String,
}

spanscope::metrics! {
    pub open_carts: ObservableGauge<i64> { attributes: [tenant], callback: count_open_carts },
    pub bytes_read: ObservableCounter<u64> { callback: read_bytes },
    pub queue: ObservableGauge<f64> { callback: queue_of_other },
}

// No argument.
fn count_open_carts() -> i64 {
    3
}

// The observer of another value type.
fn read_bytes(observer: &mut spanscope::metrics::Observer<'_, i64, bytes_read::Schema>) {
    observer.record(1, bytes_read::Attributes {});
}

// The observer of another instrument.
fn queue_of_other(observer: &mut open_carts::Observer<'_>) {
    observer.record(1, open_carts::Attributes { tenant: "acme" });
}

fn main() {
    open_carts::register();
}

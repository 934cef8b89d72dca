// Still expanded: `register` exists.
spanscope::metrics! {
    pub open_carts: ObservableGauge<i64> = "shop.carts.open" { unit: "{cart}" },
    pub bytes_read: ObservableCounter<u64>,
}

fn main() {
    open_carts::register();
    bytes_read::register();
}

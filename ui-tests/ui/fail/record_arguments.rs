spanscope::tags! {
    pub tenant: String,
}

spanscope::metrics! {
    pub orders: Counter<u64> { attributes: [tenant] },
}

fn main() {
    spanscope::record!(orders);
    spanscope::record!("orders", 1, tenant = "acme");
    spanscope::record!(orders, 1, tenant: "acme");
    spanscope::record!(orders, 1, "acme");
    spanscope::record!(orders, 1, tenant = "acme"; );
}

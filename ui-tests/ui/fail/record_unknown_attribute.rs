spanscope::tags! {
    pub route: &'static str,
    pub tenant: String,
}

spanscope::metrics! {
    pub orders: Counter<u64> { attributes: [route, tenant] },
}

fn main() {
    spanscope::record!(orders, 1, route = "/checkout", tenantt = "acme");
    spanscope::record!(orders, 1, route = "/checkout", tenant = "acme", region = "eu");
}

spanscope::tags! {
    pub tenant: String,
    pub route: &'static str,
}

mod keys {
    spanscope::tags! {
        pub tenant: u64,
    }
}

// The first of each key is kept.
spanscope::metrics! {
    pub orders: Counter<u64> { attributes: [tenant, route, tenant?] },
    pub carts: Counter<u64> { attributes: [tenant, keys::tenant] },
}

fn main() {
    orders::add(1, orders::Attributes { tenant: "acme", route: "/" });
    carts::add(1, carts::Attributes { tenant: "acme" });
}

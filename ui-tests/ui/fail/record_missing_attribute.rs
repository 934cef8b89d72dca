spanscope::tags! {
    pub route: &'static str,
    pub tenant: String,
    pub status: u16,
}

mod shop {
    use super::{route, status, tenant};

    spanscope::metrics! {
        pub orders: Counter<u64> { attributes: [route, tenant, status?] },
    }
}

fn main() {
    // An optional attribute is a field too: `None` leaves it out.
    spanscope::record!(shop::orders, 1, route = "/checkout", tenant = "acme");
    spanscope::record!(crate::shop::orders, 1);
}

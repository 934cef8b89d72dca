spanscope::tags! {
    pub tenant: String,
    pub status: u16,
}

spanscope::metrics! {
    pub orders: Counter<u64> { attributes: [tenant, status?] },
}

fn main() {
    let tenant = String::from("acme");
    spanscope::record!(orders, 1, tenant, status = Some(200));
    spanscope::record!(orders, 1, tenant = &tenant, status = 200);
    spanscope::record!(orders, 1, tenant = &tenant, status = Some("200"));
}

use spanscope::local;

spanscope::tags! {
    pub route: &'static str,
    pub tenant: &'static str,
}

#[local(name = "price", name = "price again")]
fn price() {}

#[local(tags(route = "/orders"), tags(tenant = "acme"))]
fn orders() {}

fn main() {
    price();
    orders();
}

use spanscope::{local, profiled};

spanscope::tags! {
    pub route: &'static str,
}

#[local(tags(rout = "/orders"))]
fn price() {}

#[profiled(route = "/orders", tenant = "acme")]
fn hot() {}

fn main() {
    price();
    hot();
}

use spanscope::{exit, local, profiled};

spanscope::tags! {
    pub route: &'static str,
}

#[exit(peer "inventory:8080")]
fn reserve() {}

#[local(name: "price")]
fn price() {}

#[local(tags(route: "/orders"))]
fn orders() {}

#[profiled(route "checkout")]
fn hot() {}

fn main() {
    reserve();
    price();
    orders();
    hot();
}

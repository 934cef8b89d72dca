use spanscope::{local, profiled};

spanscope::tags! {
    pub route: &'static str,
}

#[local(tags(route = "/a", route = "/b"))]
fn price() {}

#[profiled(route = "/a", route = "/b")]
fn hot() {}

fn main() {
    price();
    hot();
}

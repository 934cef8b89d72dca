use spanscope::{local, profiled};

#[profiled("checkout")]
fn hot() {}

#[local(tags("checkout"))]
fn price() {}

fn main() {
    hot();
    price();
}

use spanscope::{local, profiled};

// A type that exists but was not declared with `tags!`.
#[local(tags(String = name))]
fn price(name: String) {
    drop(name);
}

#[profiled(u32 = 1)]
fn hot() {}

fn main() {
    price(String::new());
    hot();
}

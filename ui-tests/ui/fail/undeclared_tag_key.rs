use spanscope::{local, profiled};

spanscope::tags! {
    pub route: &'static str,
}

mod keys {
    spanscope::tags! {
        pub shard: u32,
    }
}

// A misspelt key: rustc points at the declared one, in `tags!`.
#[local(tags(rout = "/orders"))]
fn price() {}

// A key never declared.
#[profiled(route = "/orders", tenant = "acme")]
fn hot() {}

// A key never declared, named like the parameter passed as its value.
#[profiled(region = region)]
async fn hot_async(region: String) {}

// A key declared in another module, not imported.
#[local(tags(shard = 3))]
fn sharded() {}

fn main() {
    price();
    hot();
    drop(hot_async(String::new()));
    sharded();
}

use spanscope::{exit, local};

spanscope::tags! {
    pub route: &'static str,
}

// A misspelt required argument is reported once, as a misspelling, not also as missing.
#[exit(peeer = "inventory:8080")]
fn reserve() {}

#[local(tag(route = "/orders"))]
fn orders() {}

#[local(NAME)]
fn price() {}

#[spanscope::main(service_name = "checkout", threads = 4)]
async fn main() {
    reserve();
    orders();
    price();
}

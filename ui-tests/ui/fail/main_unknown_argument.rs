#[spanscope::main(service = "checkout", name = "checkout")]
fn main() {}

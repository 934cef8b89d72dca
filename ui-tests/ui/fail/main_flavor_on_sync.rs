#[spanscope::main(flavor = "multi_thread", worker_threads = 4)]
fn main() {}

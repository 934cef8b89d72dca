#[spanscope::main(flavor = "multi-thread", worker_threads = 0)]
async fn main() {}

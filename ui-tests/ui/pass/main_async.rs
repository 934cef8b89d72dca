#![deny(warnings)]
//! `#[spanscope::main]` on an `async fn main` with the default multi-thread runtime.

use spanscope::local;

#[local]
async fn work(n: u64) -> u64 {
    tokio::task::yield_now().await;
    n * 2
}

#[spanscope::main(service = "checkout", flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    assert_eq!(work(21).await, 42);
}

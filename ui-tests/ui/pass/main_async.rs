#![deny(warnings)]
//! `#[spanscope::main]` on an `async fn main` with the default multi-thread runtime.

use spanscope::{local, profiled};

spanscope::tags! {
    route: &'static str,
}

#[local]
async fn work(n: u64) -> u64 {
    tokio::task::yield_now().await;
    n * 2
}

#[profiled(route = "tagged")]
async fn tagged(n: u64) -> u64 {
    tokio::task::yield_now().await;
    work(n).await
}

#[spanscope::main(service = "checkout", flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    assert_eq!(work(21).await, 42);
    // Instrumented futures are `Send`: they can be spawned on the multi-thread runtime.
    assert_eq!(tokio::spawn(work(1)).await.unwrap(), 2);
    assert_eq!(tokio::spawn(tagged(2)).await.unwrap(), 4);
}

//! A program for `tests/main_macro.rs`: `#[spanscope::main]` on an `async fn main` with a
//! current-thread runtime.

use spanscope::{entry, local};

#[entry(name = "async job")]
async fn job() -> u32 {
    let handle = spanscope::spawn(child(2));
    child(1).await + handle.await.unwrap()
}

#[local(name = "child")]
async fn child(n: u32) -> u32 {
    tokio::task::yield_now().await;
    n
}

#[spanscope::main(service = "fixture-async", flavor = "current_thread")]
async fn main() {
    assert_eq!(job().await, 3);
}

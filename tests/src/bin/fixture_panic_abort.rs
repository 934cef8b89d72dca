//! A program for `tests/panic_abort.rs`, built by that test with `-C panic=abort` (spanscope
//! and the other crates keep the `unwind` strategy they were compiled with): a request whose
//! span panics, so the process aborts with the request's spans still open.
//!
//! `sync`: an entry span, a child that finished, and a child that panics. `async`: the same
//! in futures, with the panicking span in a second segment (`in_current_span`) polled inside
//! the first, so the panicking thread has two segments installed, one inside the other.

use spanscope::{entry, local, FutureExt as _};

#[entry(name = "request")]
fn request() {
    finished();
    explode();
}

#[entry(name = "async request")]
async fn async_request() {
    async_finished().await;
    async { nested().await }.in_current_span().await;
}

#[local(name = "finished")]
fn finished() {}

#[local(name = "async finished")]
async fn async_finished() {
    tokio::task::yield_now().await;
}

#[local(name = "nested")]
async fn nested() {
    tokio::task::yield_now().await;
    explode();
}

#[local(name = "explode")]
fn explode() {
    panic!("fixture abort: {}", 42);
}

#[spanscope::main(service = "fixture-panic-abort", flavor = "current_thread")]
async fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("async") => async_request().await,
        _ => request(),
    }
    unreachable!("the request panics");
}

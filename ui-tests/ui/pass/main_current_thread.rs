#![deny(warnings)]
//! `#[spanscope::main]` with a current-thread runtime.

#[spanscope::main(flavor = "current_thread")]
async fn main() {
    let handle = tokio::spawn(async { 1 + 1 });
    assert_eq!(handle.await.unwrap(), 2);
}

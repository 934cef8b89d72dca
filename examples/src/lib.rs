//! Runnable examples: `cargo run --example NAME` from the workspace root.
//!
//! The library holds the `shop` demo's business logic ([`shop`]) and what the examples' own
//! tests share.

pub mod shop;

use std::path::PathBuf;

/// The path of the example `name` as `cargo test` built it next to the test binaries; panics if
/// it is missing (the test was not run through `cargo test`).
pub fn built_example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target profile folder");
    let path = dir.join("examples").join(name);
    assert!(path.exists(), "{} is missing: run through `cargo test`, which builds examples", path.display());
    path
}

//! Runnable examples: `cargo run --example NAME` from the workspace root. The library holds what
//! the examples' tests share.

use std::path::PathBuf;

/// The executable of example `name`, which `cargo test` builds next to the package's test
/// binaries.
///
/// # Panics
/// If it is missing, i.e. the test was not run through `cargo test`.
pub fn built_example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target profile folder");
    let path = dir.join("examples").join(name);
    assert!(path.exists(), "{} is missing: run through `cargo test`, which builds examples", path.display());
    path
}

//! Runnable examples: `cargo run --example NAME` from the workspace root.
//!
//! The library holds the `shop` demo's business logic ([`shop`]) and what the examples' own
//! tests share.

pub mod shop;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The path of the example `name` as `cargo test` built it next to the test binaries; panics if
/// it is missing (the test was not run through `cargo test`).
pub fn built_example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target profile folder");
    let path = dir.join("examples").join(name);
    assert!(path.exists(), "{} is missing: run through `cargo test`, which builds examples", path.display());
    path
}

/// Runs the example `name` to completion with its spans going to the local exporter in `out`
/// and the variables `env` set (whatever exporters and propagators the environment names are
/// set aside); panics, with its standard error, if it fails.
pub fn run_example(name: &str, out: &Path, env: &[(&str, &str)]) -> Output {
    let output = Command::new(built_example(name))
        .env("SPANSCOPE_OUT_DIR", out)
        .env_remove("OTEL_TRACES_EXPORTER")
        .env_remove("OTEL_PROPAGATORS")
        .envs(env.iter().copied())
        .output()
        .expect("run the example");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    output
}

//! Compiles the project's SkyWalking `.proto` files (`../proto/skywalking`) with server code, so
//! the tests can run collectors implementing the very services the runtime's clients call; and
//! the tests' own services (`proto/`) with client and server code, for the tonic integration tests.

use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let root = manifest.join("../proto");
    let skywalking = protos_in(&root.join("skywalking/v3"))?;
    let descriptors = protox::compile(&skywalking, [&root])?;
    tonic_prost_build::configure().build_client(false).build_server(true).compile_fds(descriptors)?;

    let own = manifest.join("proto");
    let descriptors = protox::compile(&protos_in(&own)?, [&own])?;
    tonic_prost_build::configure().build_client(true).build_server(true).compile_fds(descriptors)?;
    Ok(())
}

/// The `.proto` files in `dir`, sorted, each watched for changes.
fn protos_in(dir: &Path) -> Result<Vec<PathBuf>, std::io::Error> {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir)?.map(|entry| entry.map(|e| e.path())).collect::<Result<_, _>>()?;
    files.retain(|path| path.extension().is_some_and(|e| e == "proto"));
    files.sort();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    Ok(files)
}

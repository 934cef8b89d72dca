//! TEMPORARY (replaced by the shared build.rs on merge): compiles every `.proto` under `proto/`.

use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(&std::env::var("CARGO_MANIFEST_DIR")?).join("proto");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in std::fs::read_dir(&root)? {
        for entry in std::fs::read_dir(dir?.path())? {
            files.push(entry?.path());
        }
    }
    files.retain(|path| path.extension().is_some_and(|e| e == "proto"));
    let descriptors = protox::compile(&files, [&root])?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    Ok(())
}

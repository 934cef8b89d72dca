//! A program for `tests/main_macro.rs`: `#[spanscope::main]` on a sync `main` returning
//! `Result`, behaving as its first argument says (`ok`, `err`, `panic`).

use spanscope::{entry, local};

#[entry(name = "job")]
fn job(mode: &str) -> Result<(), String> {
    step();
    match mode {
        "err" => Err("job failed".to_owned()),
        "panic" => explode(),
        _ => Ok(()),
    }
}

#[local(name = "step")]
fn step() {}

#[local(name = "explode")]
fn explode() -> ! {
    panic!("fixture panic")
}

#[spanscope::main(service = "fixture")]
fn main() -> Result<(), String> {
    let mode = std::env::args().nth(1).unwrap_or_default();
    job(&mode)?;
    println!("done");
    Ok(())
}

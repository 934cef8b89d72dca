#![deny(warnings)]
//! `#[spanscope::main]` on a sync `main` returning `Result`, with an early `return`.

#[spanscope::main(service = "batch")]
fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    if args.is_empty() {
        return Err("no program name".to_owned());
    }
    Ok(())
}

#![deny(warnings)]
//! `#[spanscope::main]` keeps the return type of `main`, and `?` in it.

use spanscope::main;

#[main]
async fn main() -> Result<(), std::num::ParseIntError> {
    let n: u32 = "42".parse()?;
    if n == 0 {
        return Ok(());
    }
    assert_eq!(n, 42);
    Ok(())
}

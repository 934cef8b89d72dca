#![deny(warnings)]
//! `#[spanscope::main]` on a sync `fn main`.

#[spanscope::main(service = "checkout")]
fn main() {
    let total: u32 = [1, 2, 3].iter().sum();
    assert_eq!(total, 6);
}

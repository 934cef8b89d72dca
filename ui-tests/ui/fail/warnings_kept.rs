#![deny(warnings)]

use spanscope::{local, profiled};

spanscope::tags! {
    pub route: &'static str,
}

// The expansion keeps the body's own warnings, at the user's tokens.
#[local]
fn price(items: &[u64]) -> u64 {
    let unused = 1;
    return items.iter().sum();
    0
}

#[profiled(route = "x")]
async fn hot(count: u64) -> u64 {
    let mut total = 0;
    total
}

fn main() {
    price(&[]);
    let _ = hot(1);
}

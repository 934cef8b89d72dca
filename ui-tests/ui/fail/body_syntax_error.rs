use spanscope::local;

// The body is kept as written, so rustc reports its own syntax error where it is, and the
// function still exists for its callers.
#[local]
fn price(items: &[u64]) -> u64 {
    let total = ;
    items.iter().sum()
}

fn main() {
    price(&[1, 2]);
}

use spanscope::{entry, local, profiled};

#[local]
struct Cart {
    items: Vec<u64>,
}

#[entry]
const LIMIT: u32 = 10;

#[profiled(route = "x")]
mod hot {}

fn main() {
    let _ = Cart { items: Vec::new() }.items;
    let _ = LIMIT;
}

use spanscope::{entry, local};

#[entry(metrics = "yes")]
fn handler() {}

#[local(metrics = 1)]
fn work() {}

fn main() {
    handler();
    work();
}

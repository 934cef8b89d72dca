use spanscope::local;

#[local(foo = 1)]
fn price() {}

#[local(peer = "inventory:8080")]
fn price_again() {}

fn main() {
    price();
    price_again();
}

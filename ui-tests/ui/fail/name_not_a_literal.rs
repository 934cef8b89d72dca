use spanscope::local;

const NAME: &str = "price";

#[local(name = NAME)]
fn price() {}

fn main() {
    price();
}

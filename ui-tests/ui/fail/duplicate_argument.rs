use spanscope::local;

#[local(name = "price", name = "price again")]
fn price() {}

fn main() {
    price();
}

use spanscope::exit;

#[exit(name = NAME, foo = 1, name = "again")]
fn call() {}

const NAME: &str = "call";

fn main() {
    call();
}

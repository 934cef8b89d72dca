#[spanscope::main]
fn start() {}

fn main() {
    start();
}

use spanscope::exit;

#[exit]
fn call() {}

#[exit(name = "POST /reserve")]
fn reserve() {}

fn main() {
    call();
    reserve();
}

use spanscope::profiled;

#[profiled]
fn hot() {}

fn main() {
    hot();
}

use spanscope::profiled;

spanscope::tags! {
    pub route: &'static str,
}

#[profiled(tags(route = "checkout"))]
fn hot() {}

fn main() {
    hot();
}

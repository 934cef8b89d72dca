use spanscope::{entry, profiled};

spanscope::tags! {
    pub route: &'static str,
    pub tenant: String,
}

#[entry(tags(route = 404))]
fn serve() {}

#[profiled(tenant = tenant)]
fn hot(tenant: &str) -> usize {
    tenant.len()
}

fn main() {
    serve();
    hot("acme");
}

// Each declaration is checked on its own: the right ones (`tenant`, `region`) are still declared.
spanscope::tags! {
    pub route: &'static str;
    pub tenant: String,
    pub route: String,
    pub type: &'static str,
    "http.method": &'static str,
    pub zone: "cloud.zone",
    pub region: String,
}

#[spanscope::profiled(tenant = String::new(), region = String::new())]
fn hot() {}

fn main() {
    hot();
}

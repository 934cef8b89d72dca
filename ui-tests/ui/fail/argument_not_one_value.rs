use spanscope::{exit, local, profiled};

spanscope::tags! {
    pub route: &'static str,
    pub tenant: &'static str,
}

#[exit(peer = inventory:8080)]
fn reserve() {}

#[local(name = )]
fn price() {}

// A missing `,` (or a `;` for one) is reported, and both arguments are kept.
#[exit(peer = "inventory:8080" name = "POST /reserve")]
fn reserve_again() {}

#[profiled(route = "/orders"; tenant = "acme")]
fn hot() {}

fn main() {
    reserve();
    price();
    reserve_again();
    hot();
}

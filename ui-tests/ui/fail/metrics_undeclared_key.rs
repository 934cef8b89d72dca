spanscope::tags! {
    pub route: &'static str,
}

mod keys {
    spanscope::tags! {
        pub shard: u32,
    }
}

spanscope::metrics! {
    // A misspelt key: rustc points at the declared one.
    pub orders: Counter<u64> { attributes: [rout] },
    // A key never declared, and one declared in another module, not imported.
    pub carts: Counter<u64> { attributes: [route, tenant?, shard] },
}

fn main() {}

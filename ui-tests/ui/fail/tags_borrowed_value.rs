spanscope::tags! {
    pub route: &str,
}

fn main() {}

spanscope::tags! {
    pub route: &'static str = http.route,
}

fn main() {}

spanscope::tags! {
    pub route = "http.route",
}

fn main() {}

// A tag set by hand is checked like the macros' tags: the declared key's type.

spanscope::tags! {
    pub tenant: String,
}

fn main() {
    spanscope::span::local("job").tag::<tenant>(42).in_scope(|| ());
}

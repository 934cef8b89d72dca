// Names outside OpenTelemetry's instrument name syntax; each instrument still expands.
spanscope::metrics! {
    pub spaced: Counter<u64> = "shop orders",
    pub digit: Counter<u64> = "7orders",
    pub long: Counter<u64> = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    pub empty: Counter<u64> = "",
    pub accented: Counter<u64> = "größe",
    pub _orders: Counter<u64>,
}

fn main() {
    spaced::add(1, spaced::Attributes {});
    digit::add(1, digit::Attributes {});
    long::add(1, long::Attributes {});
    empty::add(1, empty::Attributes {});
    accented::add(1, accented::Attributes {});
    _orders::add(1, _orders::Attributes {});
}

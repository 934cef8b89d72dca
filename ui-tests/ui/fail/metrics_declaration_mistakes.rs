spanscope::tags! {
    pub tenant: String,
}

// Each declaration is checked on its own: `fine` is still declared.
spanscope::metrics! {
    pub type: Counter<u64>,
    "shop.orders": Counter<u64>,
    pub orders,
    pub carts: Counter,
    pub sales: Counter<u64> = shop.sales,
    pub queue: Gauge<i64> { unit = "s" },
    pub depth: Gauge<i64> { unit: s },
    pub size: Gauge<i64> { attributes: tenant },
    pub weight: Gauge<i64> { attributes: [tenant, "route", tenant + 1] },
    pub open: ObservableGauge<i64> { callback: |_| {} },
    pub fine: Counter<u64> { attributes: [tenant] };
    pub finer: Counter<u64>
    pub finest: Counter<u64>,
}

fn main() {
    fine::add(1, fine::Attributes { tenant: "acme" });
    finer::add(1, finer::Attributes {});
    finest::add(1, finest::Attributes {});
}

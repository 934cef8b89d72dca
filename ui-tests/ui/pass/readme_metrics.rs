//! The README's metrics example, as written there.

spanscope::tags! {
    pub route: &'static str = "http.route",
    pub tenant: String,
}

spanscope::metrics! {
    /// Orders placed.
    pub orders: Counter<u64> = "shop.orders" { unit: "{order}", attributes: [route, tenant] },
    /// Time to price a basket.
    pub price_duration: Histogram<f64> = "shop.price.duration" {
        unit: "s",
        attributes: [tenant, route?],            // `?`: optional, `Option<_>`
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0],
    },
    /// Carts open now, read at each collection.
    pub open_carts: ObservableGauge<i64> = "shop.carts.open" { attributes: [tenant], callback: count_carts },
}

fn count_carts(observer: &mut open_carts::Observer<'_>) {
    observer.record(3, open_carts::Attributes { tenant: "acme" });
}

fn checkout(tenant: &str) {
    orders::add(1, orders::Attributes { route: "/checkout", tenant });
    spanscope::record!(price_duration, 0.042, tenant, route = Some("/checkout"));
    let acme = orders::bind(orders::Attributes { route: "/checkout", tenant: "acme" }); // looked up once
    acme.add(1);
    open_carts::register(); // once; idempotent
}

fn main() {
    checkout("acme");
}

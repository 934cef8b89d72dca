// Names are case-insensitive; a name given as an identifier counts too. An identifier declared
// twice is reported once, and its first declaration still expands.
spanscope::metrics! {
    pub orders: Counter<u64> = "shop.orders",
    pub orders_again: Counter<u64> = "Shop.Orders",
    pub queue: Gauge<i64>,
    pub queue_depth: Gauge<i64> = "queue",
    pub queue: Gauge<u64> = "shop.queue",
}

fn main() {
    orders::add(1, orders::Attributes {});
    orders_again::add(1, orders_again::Attributes {});
    queue::record(-1, queue::Attributes {});
    queue_depth::record(1, queue_depth::Attributes {});
}

#![deny(warnings, missing_docs, missing_debug_implementations)]
//! Every kind of instrument, declared and recorded: sync kinds through their functions, `bind`
//! and `record!`; observable kinds through a callback and `register`. Optional keys, a wire name
//! given or taken from the identifier (a raw one too), an instrument without attributes, and a
//! path to the instrument's module.

/// The tag keys of this program.
pub mod keys {
    spanscope::tags! {
        /// The route being served.
        pub route: &'static str = "http.route",
        /// The customer.
        pub tenant: String,
        /// The status code of the response.
        pub status: u16 = "http.response.status_code",
        /// Whether the request was retried.
        pub retried: bool,
    }
}

/// The instruments of this program.
pub mod shop {
    use crate::keys::{route, status, tenant};

    spanscope::metrics! {
        /// Orders placed.
        pub orders: Counter<u64> = "shop.orders" { unit: "{order}", attributes: [route, tenant] },
        /// Revenue,
        /// in euros.
        pub revenue: Counter<f64> = "shop.revenue" { unit: "EUR", attributes: [tenant] },
        /// Orders being prepared.
        pub preparing: UpDownCounter<i64> = "shop.preparing" { attributes: [crate::keys::retried] },
        /// Stock change.
        pub stock: UpDownCounter<f64> { unit: "kg" },
        /// Time to price a basket.
        pub price_duration: Histogram<f64> = "shop.price.duration" {
            unit: "s",
            attributes: [tenant, status?],
            buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0],
        },
        /// Items per basket, in the default buckets.
        pub basket_size: Histogram<u64> = "shop.basket.size" { unit: "{item}" },
        /// Temperature of the oven.
        pub temperature: Gauge<f64> = "shop.oven.temperature" { unit: "Cel" },
        /// Queue length.
        pub queue: Gauge<u64>,
        /// Balance.
        pub balance: Gauge<i64> = "shop.balance" { attributes: [tenant?] },
        /// A raw identifier: the name is `type`.
        pub r#type: Counter<u64>,
        /// Carts open now.
        pub open_carts: ObservableGauge<i64> = "shop.carts.open" {
            unit: "{cart}",
            attributes: [tenant],
            callback: count_open_carts,
        },
        /// Bytes read so far.
        pub bytes_read: ObservableCounter<u64> = "shop.bytes.read" { unit: "By", callback: read_bytes },
        /// Connections open now.
        pub connections: ObservableUpDownCounter<f64> = "shop.connections" { callback: self::count_connections },
        /// Temperature of the fridge.
        pub fridge: ObservableGauge<u64> { callback: fridge_temperature },
    }

    fn count_open_carts(observer: &mut open_carts::Observer<'_>) {
        let tenant = String::from("acme");
        observer.record(3, open_carts::Attributes { tenant: &tenant });
    }

    fn read_bytes(observer: &mut bytes_read::Observer<'_>) {
        observer.record(4096, bytes_read::Attributes {});
    }

    fn count_connections(observer: &mut connections::Observer<'_>) {
        observer.record(2.0, connections::Attributes {});
    }

    fn fridge_temperature(observer: &mut fridge::Observer<'_>) {
        observer.record(4, fridge::Attributes {});
    }
}

use shop::{orders, price_duration};

fn main() {
    let tenant = String::from("acme");
    orders::add(1, orders::Attributes { route: "/checkout", tenant: &tenant });
    orders::record(1, orders::Attributes { route: "/checkout", tenant: &tenant });
    spanscope::record!(orders, 1, route = "/checkout", tenant = &tenant);
    let checkout: spanscope::metrics::BoundCounter<u64> = orders::bind(orders::Attributes { route: "/checkout", tenant: "acme" });
    checkout.add(2);

    spanscope::record!(shop::revenue, 12.5, tenant = "acme");
    let retried = true;
    spanscope::record!(crate::shop::preparing, -1, retried);
    shop::preparing::add(1, shop::preparing::Attributes { retried: false });
    shop::stock::bind(shop::stock::Attributes {}).add(-0.5);
    spanscope::record!(shop::stock, 1.5);

    let status = Some(200);
    spanscope::record!(price_duration, 0.042, tenant = &tenant, status);
    price_duration::bind(price_duration::Attributes { tenant: "acme", status: None }).record(0.3);
    shop::basket_size::record(3, shop::basket_size::Attributes {});

    shop::temperature::record(180.5, shop::temperature::Attributes {});
    shop::queue::bind(shop::queue::Attributes {}).record(7);
    spanscope::record!(shop::balance, -20, tenant = None);
    spanscope::record!(shop::r#type, 1);

    shop::open_carts::register();
    shop::open_carts::register();
    shop::bytes_read::register();
    shop::connections::register();
    shop::fridge::register();
}

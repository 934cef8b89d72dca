//! A program for the logs tests that read what a process writes (`tests/logs_console.rs`): logs
//! through the `log` bridge and the `tracing` layer, inside spans made by the macros and by
//! `tracing`, and outside any span, with the exporters the environment configures, then shuts
//! down. The bodies say where each record was made:
//! - `outside any span`: before any span;
//! - `order placed` (with `order_id` and `note`) and a hostile body that begins `hostile`: in the
//!   `place_order` entry span, through `log`;
//! - `priced` (with `items` and `total`): in its `price` child span, through `tracing`;
//! - `in a tracing span`: in the `tracing_span` span `tracing` made, the `place_order` span's
//!   other child.

use spanscope::{entry, local};
use tracing_subscriber::layer::SubscriberExt as _;

#[entry(name = "place_order")]
fn place_order() {
    log::info!(order_id = 7, note = "gift wrap"; "order placed");
    price();
    tracing::info_span!("tracing_span").in_scope(|| tracing::info!("in a tracing span"));
    log::warn!("hostile\nforged line\r\x1b[31mred\x1b[0m");
}

#[local(name = "price")]
fn price() {
    tracing::info!(items = 3, total = 9.5, "priced");
}

fn main() {
    spanscope::log::init().expect("no other logger");
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(spanscope::tracing::layer()))
        .expect("no other subscriber");
    let guard = spanscope::init(spanscope::Config::new().service_name("fixture"));
    log::info!("outside any span");
    place_order();
    drop(guard);
}

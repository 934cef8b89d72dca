#![deny(warnings)]
//! `#[entry]` on sync and async functions, with and without a remote context.

use http::{HeaderMap, Request};
use spanscope::entry;

spanscope::tags! {
    pub route: &'static str = "http.route",
    pub tenant: String,
}

#[entry]
fn plain() -> u32 {
    1
}

#[entry(
    name = "GET /orders/{id}",
    headers = req.headers(),
    tags(route = "/orders/{id}", tenant = req.uri().path().to_owned()),
)]
fn get_order(req: &Request<()>) -> String {
    req.uri().path().to_owned()
}

#[entry(headers = headers, tags(route = "/items"))]
async fn list_items(headers: HeaderMap, limit: u64) -> Result<u64, std::num::TryFromIntError> {
    let count = u64::try_from(headers.len())?;
    Ok(count.min(limit))
}

#[entry(name = "consume")]
async fn consume() {}

fn main() {
    assert_eq!(plain(), 1);
    let req = Request::get("/orders/7").body(()).unwrap();
    assert_eq!(get_order(&req), "/orders/7");
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(rt.block_on(list_items(HeaderMap::new(), 3)).unwrap(), 0);
    rt.block_on(consume());
}

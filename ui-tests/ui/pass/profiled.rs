#![deny(warnings)]
//! `#[profiled]` on sync and async functions, with literal and computed tag values.

use spanscope::profiled;

spanscope::tags! {
    pub route: &'static str = "http.route",
    pub tenant: String,
}

#[profiled(route = "checkout", tenant = tenant.clone())]
fn hot_loop(tenant: String, n: u64) -> u64 {
    (0..n).sum::<u64>() + tenant.len() as u64
}

#[profiled(tenant = tenant.to_owned())]
async fn hot_async(tenant: &str) -> Result<usize, String> {
    if tenant.is_empty() {
        return Err("no tenant".to_owned());
    }
    Ok(tenant.len())
}

struct Worker;

impl Worker {
    #[profiled(route = "work")]
    fn work(&mut self) -> &mut Self {
        self
    }
}

fn main() {
    assert_eq!(hot_loop("acme".to_owned(), 4), 10);
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(rt.block_on(hot_async("acme")), Ok(4));
    assert!(rt.block_on(hot_async("")).is_err());
    let mut worker = Worker;
    let _ = worker.work();
}

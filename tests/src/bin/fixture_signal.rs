//! A program for `tests/exit_signal.rs`: `#[spanscope::main]` on a server-like `main` that
//! serves one request and then runs until a signal ends it. With `own-handler` it handles SIGINT
//! itself, through tokio's `signal` (installed after spanscope's), and returns.

use std::hint::black_box;
use std::time::Duration;

use spanscope::{entry, local, profiled};
use spanscope_tests::profiles::burn_for;
use tokio::signal::unix::{signal, SignalKind};

spanscope::tags! {
    /// The customer the request was for.
    pub tenant: &'static str,
}

#[entry(name = "request")]
async fn request() {
    price();
}

#[local(name = "price")]
#[profiled(tenant = "acme")]
#[inline(never)]
fn price() {
    burn_for(Duration::from_millis(300), || {
        black_box((0..20_000u64).fold(0, |acc, i| black_box(acc ^ i.wrapping_mul(31))));
    });
}

#[spanscope::main(service = "fixture-signal")]
async fn main() {
    let own_handler = std::env::args().nth(1).as_deref() == Some("own-handler");
    let mut interrupt = own_handler.then(|| signal(SignalKind::interrupt()).expect("install a SIGINT handler"));
    request().await;
    println!("ready");
    match &mut interrupt {
        Some(interrupt) => {
            interrupt.recv().await;
            println!("stopped by the program");
        }
        None => std::future::pending().await,
    }
}

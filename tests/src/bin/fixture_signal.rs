//! A program for `tests/exit_signal.rs`: `#[spanscope::main]` on a server-like `main` that
//! serves one request and then runs until a signal ends it. With `own-handler` it handles SIGINT
//! itself, through tokio's `signal` (installed after spanscope's), and returns; with `sigwait` it
//! blocks SIGTERM, and once a line comes on its standard input takes the signal with `sigwait`
//! and returns.

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

#[spanscope::main(service = "fixture-signal", flavor = "current_thread")]
async fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("own-handler") => {
            let mut interrupt = signal(SignalKind::interrupt()).expect("install a SIGINT handler");
            request().await;
            println!("ready");
            interrupt.recv().await;
            println!("stopped by the program");
        }
        Some("sigwait") => {
            // The only thread of the program's own: with it blocked here, SIGTERM waits for
            // `sigwait`, unless one of spanscope's threads takes it.
            let term = block(libc::SIGTERM);
            request().await;
            println!("ready");
            // Until then a SIGTERM finds no thread of the program's waiting for it: it stays
            // pending, unless a thread that does not block it takes it.
            std::io::stdin().read_line(&mut String::new()).expect("read standard input");
            let mut taken = 0;
            // SAFETY: `term` is an initialised set; `taken` is where `sigwait` writes.
            unsafe { libc::sigwait(&term, &mut taken) };
            println!("stopped by the program");
        }
        _ => {
            request().await;
            println!("ready");
            std::future::pending().await
        }
    }
}

/// Blocks `signal` in the calling thread; returns the set holding it.
fn block(signal: libc::c_int) -> libc::sigset_t {
    // SAFETY: the set is initialised by `sigemptyset` before use.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, signal);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

//! `metrics = ..` on the span macros: an entry that opts out, a local that opts in, sync and async.

#[spanscope::entry(metrics = false)]
fn untimed_handler() {}

#[spanscope::local(metrics = true)]
fn timed_work() -> Result<u32, std::num::ParseIntError> {
    "7".parse()
}

#[spanscope::exit(peer = "inventory:8080", metrics = true)]
async fn timed_call() -> u32 {
    1
}

fn main() {
    untimed_handler();
    assert_eq!(timed_work(), Ok(7));
    let _future = timed_call();
}

//! A program for `tests/fork.rs`: `#[spanscope::main]` forking without `exec` inside a span.
//!
//! The child ends its copy of the open span, begins a span of its own, and returns through its
//! copy of the guard. The parent waits for the child, up to the number of seconds given as the
//! first argument (then kills it and says so), then makes one more span and returns.

use std::time::{Duration, Instant};

use spanscope::{entry, local};

/// Forks inside the span: both processes end it.
#[entry(name = "request")]
fn request() -> libc::pid_t {
    // SAFETY: the child only runs this program's Rust code on its one thread, which depends on
    // no other thread of the parent's: spanscope stops recording in a child (its `fork`
    // handler), and the allocator and standard error are fork-safe in glibc.
    unsafe { libc::fork() }
}

#[local(name = "in the child")]
fn in_the_child() {}

#[local(name = "after the fork")]
fn after_the_fork() {}

#[spanscope::main(service = "fixture-fork")]
fn main() {
    let bound = Duration::from_secs(std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(120));
    let child = request();
    if child == 0 {
        in_the_child();
        return;
    }
    let started = Instant::now();
    let mut status = 0;
    // SAFETY: waiting for our own child, with a valid place for its status.
    while unsafe { libc::waitpid(child, &mut status, libc::WNOHANG) } == 0 {
        if started.elapsed() > bound {
            // SAFETY: killing and reaping our own child.
            unsafe {
                libc::kill(child, libc::SIGKILL);
                libc::waitpid(child, &mut status, 0);
            }
            println!("child hung: killed after {bound:?}");
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if libc::WIFEXITED(status) {
        println!("child exited with {}", libc::WEXITSTATUS(status));
    }
    after_the_fork();
}

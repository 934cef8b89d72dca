//! Starting spanscope's own threads (the reporter, the profiler's collector, the thread that
//! waits for an exit signal) so that none of them takes a signal meant for the application: one
//! meant to end the process, or a CPU sample.
//!
//! A signal sent to a process goes to any one of its threads that does not block it. A program
//! that takes SIGINT, SIGTERM or SIGHUP with `sigwait` or a `signalfd` blocks them in its own
//! threads; a thread of spanscope's that did not would take the signal instead, and run its
//! default action (the end of the process) or the handler `#[spanscope::main]` installs.
//!
//! The profiler arms a CPU-time timer on every thread of the process (`profiler::timer`),
//! spanscope's included, since they are found by listing the process's threads. Its SIGPROF
//! stays pending on a thread that blocks it, so spanscope's own work (symbolising a profile,
//! encoding and sending exports) never appears in the application's profile.
//!
//! So these threads start with those signals blocked, as do the threads they start in turn
//! (tokio's blocking pool under the reporter), which inherit the mask. They are also marked as
//! spanscope's own, so that the logs of the libraries they run (hyper, tonic) are not exported
//! by the very exporters that make them.

use std::io;
use std::thread::JoinHandle;

pub(crate) use crate::state::mark_own_thread as mark_own;

/// Starts a thread named `name` running `body`, with the exit signals and SIGPROF blocked in it.
pub(crate) fn spawn<T: Send + 'static>(
    name: &str,
    body: impl FnOnce() -> T + Send + 'static,
) -> io::Result<JoinHandle<T>> {
    let builder = std::thread::Builder::new().name(name.into());
    #[cfg(target_os = "linux")]
    let _blocked = linux::ApplicationSignalsBlocked::here();
    // A new thread starts with the signal mask of the thread that starts it.
    builder.spawn(move || {
        mark_own();
        body()
    })
}

#[cfg(target_os = "linux")]
mod linux {
    /// The exit signals and SIGPROF blocked in the calling thread until dropped, when its mask
    /// is restored.
    pub(super) struct ApplicationSignalsBlocked {
        previous: libc::sigset_t,
    }

    impl ApplicationSignalsBlocked {
        pub(super) fn here() -> Self {
            use crate::sys::signals::{signal_set, SIGNALS};
            let signals = signal_set(SIGNALS.map(|(signal, _)| signal).into_iter().chain([libc::SIGPROF]));
            // SAFETY: `previous` is filled by `pthread_sigmask` before it is read; blocking
            // signals has no other effect.
            unsafe {
                let mut previous: libc::sigset_t = std::mem::zeroed();
                libc::pthread_sigmask(libc::SIG_BLOCK, &signals, &mut previous);
                Self { previous }
            }
        }
    }

    impl Drop for ApplicationSignalsBlocked {
        fn drop(&mut self) {
            // SAFETY: restores the mask `here` saved.
            unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.previous, std::ptr::null_mut()) };
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use crate::sys::signals::SIGNALS;

    /// Whether `signal` is blocked in the calling thread.
    fn blocked(signal: libc::c_int) -> bool {
        // SAFETY: with a null new set `pthread_sigmask` only fills `mask`, which `sigismember`
        // then reads.
        unsafe {
            let mut mask: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut mask);
            libc::sigismember(&mask, signal) == 1
        }
    }

    #[test]
    fn threads_block_the_exit_signals_and_sigprof_and_leave_the_caller_as_it_was() {
        let before = blocked(libc::SIGPROF);
        let signals = SIGNALS.map(|(signal, _)| signal).into_iter().chain([libc::SIGPROF]);
        let in_thread = super::spawn("spanscope-test", move || signals.map(blocked).collect::<Vec<_>>());
        assert_eq!(in_thread.unwrap().join().unwrap(), [true; 4]);
        assert_eq!(blocked(libc::SIGPROF), before);
    }
}

//! Starting spanscope's own threads (the reporter, the profiler's collector, the thread that
//! waits for an exit signal) so that none of them takes a signal meant to end the process.
//!
//! A signal sent to a process goes to any one of its threads that does not block it. A program
//! that takes SIGINT, SIGTERM or SIGHUP with `sigwait` or a `signalfd` blocks them in its own
//! threads; a thread of spanscope's that did not would take the signal instead, and run its
//! default action (the end of the process) or the handler `#[spanscope::main]` installs. So
//! these threads start with those signals blocked, as do the threads they start in turn (tokio's
//! blocking pool under the reporter), which inherit the mask.

use std::io;
use std::thread::JoinHandle;

/// Starts a thread named `name` running `body`, with the exit signals blocked in it.
pub(crate) fn spawn<T: Send + 'static>(
    name: &str,
    body: impl FnOnce() -> T + Send + 'static,
) -> io::Result<JoinHandle<T>> {
    let builder = std::thread::Builder::new().name(name.into());
    #[cfg(target_os = "linux")]
    let _blocked = linux::ExitSignalsBlocked::here();
    // A new thread starts with the signal mask of the thread that starts it.
    builder.spawn(body)
}

#[cfg(target_os = "linux")]
mod linux {
    /// The exit signals blocked in the calling thread until dropped, when its mask is restored.
    pub(super) struct ExitSignalsBlocked {
        previous: libc::sigset_t,
    }

    impl ExitSignalsBlocked {
        pub(super) fn here() -> Self {
            use crate::exit_signal::{signal_set, SIGNALS};
            let exit_signals = signal_set(SIGNALS.map(|(signal, _)| signal));
            // SAFETY: `previous` is filled by `pthread_sigmask` before it is read; blocking
            // signals has no other effect.
            unsafe {
                let mut previous: libc::sigset_t = std::mem::zeroed();
                libc::pthread_sigmask(libc::SIG_BLOCK, &exit_signals, &mut previous);
                Self { previous }
            }
        }
    }

    impl Drop for ExitSignalsBlocked {
        fn drop(&mut self) {
            // SAFETY: restores the mask `here` saved.
            unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.previous, std::ptr::null_mut()) };
        }
    }
}

//! The signals that end a process by default and that spanscope's shutdown comes before, and
//! signal sets of them.

use libc::c_int;

/// The signals whose default action ends the process and that a shutdown should come before.
pub(crate) const SIGNALS: [(c_int, &str); 3] =
    [(libc::SIGINT, "SIGINT"), (libc::SIGTERM, "SIGTERM"), (libc::SIGHUP, "SIGHUP")];

/// The signal set holding `signals`.
pub(crate) fn signal_set(signals: impl IntoIterator<Item = c_int>) -> libc::sigset_t {
    // SAFETY: the set is initialised by `sigemptyset` before `sigaddset` adds to it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for signal in signals {
            libc::sigaddset(&mut set, signal);
        }
        set
    }
}

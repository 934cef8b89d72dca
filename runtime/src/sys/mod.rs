//! The process-level pieces: spanscope's own threads, which block the signals the application
//! handles, the exit-signal handler, and what happens in a forked child.

#[cfg(target_os = "linux")]
pub(crate) mod exit_signal;
#[cfg(target_os = "linux")]
pub(crate) mod fork;
#[cfg(target_os = "linux")]
pub(crate) mod signals;
pub(crate) mod threads;

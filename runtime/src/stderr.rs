//! The lines the runtime writes to standard error: what it wrote at exit, a backend's trouble, a
//! missed shutdown deadline.
//!
//! Not `eprintln!`, which panics when standard error is gone (a pipe whose reader has exited, a
//! terminal hung up): that would take down the reporter thread, or the thread flushing before a
//! signal ends the process, and lose what it was delivering. A line that cannot be written is
//! dropped instead.

/// Like `eprintln!`, but a line that cannot be written is dropped.
macro_rules! stderr_line {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::writeln!(::std::io::stderr(), $($arg)*);
    }};
}

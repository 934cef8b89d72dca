//! Ending on SIGINT, SIGTERM or SIGHUP without losing what is buffered, for `#[spanscope::main]`
//! programs that do not handle those signals themselves.
//!
//! Their default action ends the process at once: the guard in `main` is never dropped, so the
//! spans waiting for their batch (up to `OTEL_BSP_SCHEDULE_DELAY`) and the profile window in
//! progress are lost, on every Ctrl-C and on every stop of a container (Kubernetes and Docker
//! send SIGTERM). The JVM runs its shutdown hooks on these three signals, which is how the
//! SkyWalking and OpenTelemetry Java agents get their last data out.
//!
//! For each of them whose action is still the default when `main` starts, [`install`] puts in a
//! handler that only writes the signal's number to a pipe. A thread reading the pipe shuts
//! spanscope down as the guard would (within `SPANSCOPE_SHUTDOWN_TIMEOUT`), then restores the
//! default action and raises the signal again, so that the process ends as it would have: killed
//! by that signal, which a shell reports as exit status 128 + its number. A second signal while
//! that runs ends the process at once, unless it is the same signal within [`ECHO_WINDOW_MS`]
//! of the first: one stop sent twice at once, to the process and to its process group (as GNU
//! `timeout` and some supervisors do), is one request to stop, and the flush goes on.
//!
//! A program that handles a signal itself keeps it: an action other than the default (ignored,
//! or a handler) is left alone, a handler the program installs later replaces this one, and a
//! library that chains to the previous handler when it installs its own, as tokio's `signal`
//! does, still calls this one, which does nothing unless it is the installed handler. A program
//! that takes these signals with `sigwait` or a `signalfd` instead blocks them in its threads,
//! and spanscope's threads block them too (see `sys::threads`), so the signal waits for
//! the program. A child forked without `exec` inherits the handler but not the thread: there the
//! handler ends the process by the default action.

use std::fs::File;
use std::io::Read;
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::Once;

use libc::c_int;

use super::signals::{signal_set, SIGNALS};

/// The write end of the pipe the handler wakes the thread through; -1 until it exists.
static WAKE: AtomicI32 = AtomicI32::new(-1);
/// The first signal and when it came: `(milliseconds of CLOCK_MONOTONIC + 1) << 8 | signal`, zero
/// before any. A second signal ends the process without waiting for the shutdown, unless it
/// echoes the first (see [`ECHO_WINDOW_MS`]).
static FIRST_SIGNAL: AtomicU64 = AtomicU64::new(0);

/// How soon after the first the same signal counts as the same request to stop: long enough for
/// a signal sent to a process and then to its group, far shorter than a person pressing Ctrl-C
/// twice.
pub(crate) const ECHO_WINDOW_MS: u64 = 100;
/// The process the thread runs in: a child forked without `exec` has no such thread.
static THREAD_PROCESS: AtomicI32 = AtomicI32::new(0);

/// Starts the thread and installs the handler for each of [`SIGNALS`] whose action is the
/// default, once per process. On the first of them, the thread calls `shut_down`, then lets the
/// signal end the process.
pub(crate) fn install(shut_down: fn()) {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let Some(pipe) = start_thread(shut_down) else { return };
        WAKE.store(pipe, Ordering::Release);
        THREAD_PROCESS.store(std::process::id() as i32, Ordering::Release);
        for (signal, _) in SIGNALS {
            if current_action(signal) != libc::SIG_DFL {
                continue;
            }
            // SAFETY: the action is fully initialised (zeroed, then an empty mask); the handler
            // is an `extern "C" fn(c_int)`, as `sa_sigaction` without `SA_SIGINFO` must be, and
            // calls only async-signal-safe functions.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = handler();
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(signal, &action, std::ptr::null_mut());
            }
        }
    });
}

/// The signal handler: wakes the thread, or on a second signal ends the process.
extern "C" fn on_signal(signal: c_int) {
    // SAFETY: `__errno_location` returns this thread's errno, which the interrupted code may be
    // about to read: it is restored on the way out, whatever the calls below set.
    let errno = unsafe { *libc::__errno_location() };
    // A program that installed its own handler since, and chains to this one, handles the
    // signal itself.
    if is_installed(signal) {
        // SAFETY: `getpid` is async-signal-safe.
        let forked = unsafe { libc::getpid() } != THREAD_PROCESS.load(Ordering::Acquire);
        let now = monotonic_ms();
        let this = (now + 1) << 8 | (signal as u64 & 0xff);
        let first =
            if forked { Err(0) } else { FIRST_SIGNAL.compare_exchange(0, this, Ordering::SeqCst, Ordering::SeqCst) };
        match first {
            Ok(_) => {
                let byte = signal as u8;
                // SAFETY: `write` is async-signal-safe and is given one valid byte; the
                // descriptor is the pipe's write end, never closed. It writes once per process
                // (the exchange above), so the empty pipe cannot block it.
                unsafe { libc::write(WAKE.load(Ordering::Acquire), (&raw const byte).cast(), 1) };
            }
            Err(first) if is_echo(first, signal, now) => {}
            // The signal is blocked until this handler returns, then delivered with the default
            // action.
            Err(_) => end_by(signal),
        }
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

/// Whether `signal`, arriving at `now`, repeats the `first` one within [`ECHO_WINDOW_MS`].
fn is_echo(first: u64, signal: c_int, now: u64) -> bool {
    let (first_at, first_signal) = ((first >> 8).saturating_sub(1), first & 0xff);
    first_signal == signal as u64 & 0xff && now.saturating_sub(first_at) < ECHO_WINDOW_MS
}

/// Milliseconds of `CLOCK_MONOTONIC`. Async-signal-safe.
fn monotonic_ms() -> u64 {
    // SAFETY: `clock_gettime` is async-signal-safe and writes a valid `timespec`.
    let time = unsafe {
        let mut time: libc::timespec = std::mem::zeroed();
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut time);
        time
    };
    (time.tv_sec as u64).saturating_mul(1000).saturating_add(time.tv_nsec as u64 / 1_000_000)
}

/// [`on_signal`] as an action.
fn handler() -> libc::sighandler_t {
    on_signal as extern "C" fn(c_int) as libc::sighandler_t
}

/// Whether [`on_signal`] is the installed action for `signal`.
fn is_installed(signal: c_int) -> bool {
    current_action(signal) == handler()
}

/// The action installed for `signal`: `SIG_DFL`, `SIG_IGN` or a handler. Async-signal-safe.
pub(crate) fn current_action(signal: c_int) -> libc::sighandler_t {
    // SAFETY: `sigaction` (async-signal-safe) with a null new action only reads the current one
    // into `current`, a valid, writable `sigaction`.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut current);
        current.sa_sigaction
    }
}

/// Restores the default action for `signal` and raises it for this thread, which ends the
/// process once the signal is unblocked here.
pub(crate) fn end_by(signal: c_int) {
    // SAFETY: `signal` and `raise` are async-signal-safe and take a valid signal number.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
}

/// Opens the pipe and starts the thread that reads it; returns the pipe's write end.
fn start_thread(shut_down: fn()) -> Option<c_int> {
    let mut ends = [0; 2];
    // SAFETY: `ends` has room for the two descriptors `pipe2` writes.
    if unsafe { libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return None;
    }
    // SAFETY: `ends[0]` is the read end just opened, owned by nothing else.
    let read_end = unsafe { File::from_raw_fd(ends[0]) };
    match crate::sys::threads::spawn("spanscope-exit", move || wait(read_end, shut_down)) {
        Ok(_) => Some(ends[1]),
        Err(_) => {
            // SAFETY: the write end was never shared; the read end closed with the closure.
            unsafe { libc::close(ends[1]) };
            None
        }
    }
}

/// The thread: waits for the first signal, shuts spanscope down, then ends the process by it.
fn wait(mut pipe: File, shut_down: fn()) {
    let mut byte = [0];
    if pipe.read_exact(&mut byte).is_err() {
        return;
    }
    let signal = c_int::from(byte[0]);
    let name = SIGNALS.iter().find(|(number, _)| *number == signal).map_or("signal", |(_, name)| name);
    stderr_line!("spanscope: {name}: flushing before exit (again to exit at once)");
    // Whatever happens in the shutdown, the signal must still end the process.
    let _ = std::panic::catch_unwind(shut_down);
    end_by(signal);
    // SAFETY: unblocking one signal in this thread, which is what lets `end_by`'s delivery
    // happen here; the set is a valid, initialised one.
    unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &signal_set([signal]), std::ptr::null_mut()) };
    // Only if the signal could not end the process (nothing else can block it in this thread).
    std::process::exit(128 + signal);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_signal_at_once_echoes_the_first_and_anything_else_does_not() {
        let first = (1_000 + 1) << 8 | libc::SIGTERM as u64;
        assert!(is_echo(first, libc::SIGTERM, 1_000));
        assert!(is_echo(first, libc::SIGTERM, 1_000 + ECHO_WINDOW_MS - 1));
        assert!(!is_echo(first, libc::SIGTERM, 1_000 + ECHO_WINDOW_MS));
        assert!(!is_echo(first, libc::SIGINT, 1_000));
    }
}

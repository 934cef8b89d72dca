//! The panic hook, and the spans of a panic that aborts the process.
//!
//! Every panic's message is remembered on its thread, for the spans it then ends. What happens
//! next depends on the panic strategy:
//!
//! - `unwind`: the panic may be caught (tokio catches a task's) and the thread goes on; the spans
//!   it unwinds through end as failed and their segments are handed over by their owners as
//!   they drop. The hook only asks the reporter to export what is finished, without waiting.
//! - `abort`: nothing unwinds, and the process ends after the hooks. The segments installed on
//!   the panicking thread (the request that panicked: its entry span, the children that
//!   finished, the span that panicked, and any segments it ran inside) are copied with their
//!   open spans ended as failed with the panic's message, handed to the exporters, and flushed
//!   within `SPANSCOPE_SHUTDOWN_TIMEOUT` ([`export_aborting_thread`]).
//!
//! Which strategy a panic follows is the final binary's: the panic runtime linked into it.
//! `cfg!(panic = "abort")` is evaluated when spanscope is compiled, so it is true when the
//! whole build uses `abort` (Cargo's `profile.*.panic`), but false in a binary given `-C
//! panic=abort` alone (`cargo rustc -- -C panic=abort`, a build system compiling dependencies
//! apart), which links the `abort` runtime to crates compiled for unwinding. std has no way to
//! ask at run time (`PanicHookInfo::can_unwind` is unstable and only says whether the panicking
//! function may unwind). So on Linux the abort is also recognised where it happens: the `abort`
//! runtime ends the process with `abort()`, which raises SIGABRT on the panicking thread, still
//! panicking; a SIGABRT handler does the export there (see `abort_signal`). That also covers a
//! panic hook that aborts the process itself.

/// Installs the hook, once per process; on Linux also the SIGABRT handler.
pub(crate) fn install() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // An exporter's panic is caught and reported once by its lane.
            if crate::export::lane_catches_panic() {
                return;
            }
            let payload = crate::stderr::panic_text(info.payload());
            let message = match info.location() {
                Some(location) => format!("panicked at {location}: {payload}"),
                None => format!("panicked: {payload}"),
            };
            crate::span::set_panic_message(message);
            // Before the previous hook, which may end the process.
            if cfg!(panic = "abort") {
                export_aborting_thread();
            } else {
                crate::init::flush_soon();
            }
            previous(info);
        }));
        #[cfg(target_os = "linux")]
        abort_signal::install();
    });
}

/// Hands the panicking thread's installed segments to the exporters, with their open spans
/// ended as failed with the panic's message, and flushes. For a thread whose panic ends the
/// process: the segments' owners never run again. Once per process (the first thread to abort
/// ends it).
fn export_aborting_thread() {
    use std::sync::atomic::{AtomicBool, Ordering};
    static EXPORTED: AtomicBool = AtomicBool::new(false);
    if crate::state::current().is_none() || EXPORTED.swap(true, Ordering::SeqCst) {
        return;
    }
    let submitted = crate::span::submit_installed();
    let flushed = crate::init::flush();
    let crate::span::Submitted { segments, spans, ended } = submitted;
    let outcome = if flushed { "flushed" } else { "the flush did not finish: what was still queued is lost" };
    stderr_line!(
        "spanscope: the panic aborts the process: exported the panicking thread's {segments} open segment{} \
         ({spans} span{}, {ended} of them ended as failed); {outcome}",
        plural(segments),
        plural(spans),
    );
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Recognising, on Linux, a panic that aborts the process when spanscope was compiled for
/// unwinding: by the SIGABRT that `abort()` raises on the panicking thread.
///
/// The handler acts only on a SIGABRT the process raised on this very thread (`abort()` and
/// `raise` send it with `tgkill`: `SI_TKILL`, from this process) while the thread is panicking,
/// which is the case for the `abort` panic runtime, for a panic hook that calls
/// `std::process::abort`, and for a panic during a panic. Any other SIGABRT (a failed C
/// `assert`, heap corruption found by `malloc`, `kill -ABRT`) goes straight on. Then it passes
/// the signal on to the action installed before it (a crash reporter's handler, or the default
/// action, which ends the process with a core dump).
///
/// The export is not async-signal-safe: it allocates, takes locks and waits for the reporter.
/// It runs where `abort()` was called from ordinary code on a panicking thread, the same state
/// the panic hook itself runs in (which also allocates), not at an arbitrary instruction.
#[cfg(target_os = "linux")]
mod abort_signal {
    use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

    use libc::{c_int, c_void, siginfo_t};

    use crate::sys::exit_signal::{current_action, end_by};

    /// The action installed before [`on_abort`]: its handler and flags.
    static PREVIOUS_HANDLER: AtomicUsize = AtomicUsize::new(libc::SIG_DFL);
    static PREVIOUS_FLAGS: AtomicI32 = AtomicI32::new(0);

    pub(super) fn install() {
        // SAFETY: `sigaction` reads the current action into a zeroed, valid `sigaction`, then
        // installs one that is fully initialised (zeroed, an empty mask); the handler has the
        // `SA_SIGINFO` signature the flags declare.
        unsafe {
            let mut previous: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGABRT, std::ptr::null(), &mut previous) != 0 {
                return;
            }
            PREVIOUS_HANDLER.store(previous.sa_sigaction, Ordering::Release);
            PREVIOUS_FLAGS.store(previous.sa_flags, Ordering::Release);
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler();
            action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGABRT, &action, std::ptr::null_mut());
        }
    }

    fn handler() -> libc::sighandler_t {
        on_abort as extern "C" fn(c_int, *mut siginfo_t, *mut c_void) as libc::sighandler_t
    }

    extern "C" fn on_abort(signal: c_int, info: *mut siginfo_t, context: *mut c_void) {
        // SAFETY: the kernel passes a valid siginfo to an `SA_SIGINFO` handler; `si_pid` is
        // meaningful for `SI_TKILL`, checked first; `getpid` is async-signal-safe.
        let raised_here = unsafe { (*info).si_code == libc::SI_TKILL && (*info).si_pid() == libc::getpid() };
        // `panicking` reads a global atomic and, if some thread panics, a const thread-local.
        if raised_here && std::thread::panicking() {
            super::export_aborting_thread();
        }
        pass_on(signal, info, context);
    }

    /// Hands the signal to the action installed before this one.
    fn pass_on(signal: c_int, info: *mut siginfo_t, context: *mut c_void) {
        match PREVIOUS_HANDLER.load(Ordering::Acquire) {
            // `abort()` goes on to the default action itself; a signal sent to the process
            // stays ignored.
            libc::SIG_IGN => {}
            // Unless a handler installed since chains to this one (then it decides), the
            // default action ends the process once this handler returns.
            libc::SIG_DFL => {
                if current_action(signal) == handler() {
                    end_by(signal);
                }
            }
            previous if PREVIOUS_FLAGS.load(Ordering::Acquire) & libc::SA_SIGINFO != 0 => {
                // SAFETY: an `SA_SIGINFO` action's handler has this signature; it is called
                // with the arguments this handler was given, as the kernel would have.
                let previous: extern "C" fn(c_int, *mut siginfo_t, *mut c_void) =
                    unsafe { std::mem::transmute(previous) };
                previous(signal, info, context);
            }
            previous => {
                // SAFETY: an action without `SA_SIGINFO` has a handler of this signature.
                let previous: extern "C" fn(c_int) = unsafe { std::mem::transmute(previous) };
                previous(signal);
            }
        }
    }
}

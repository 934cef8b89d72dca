//! The SIGPROF handler: one CPU sample of the interrupted thread.
//!
//! Rules (DESIGN.md, "Profiler rules"): no allocation, no blocking lock, no libgcc unwinder, no
//! formatting, nothing lazily initialised. Everything the handler touches was built before the
//! timer started: the sample ring, the unwinder snapshot, the probe pipe. It reads the thread's
//! tag stack and installed segment through const-initialised thread-locals without destructors
//! (plain TLS reads in an executable), walks the stack with validated reads, claims a slot with
//! a compare-and-swap, and saves and restores `errno`. A sample it cannot store (ring full,
//! every unwinder cache busy) is counted in [`crate::stats`] as dropped.
//!
//! The handler is installed once and stays installed: when the profiler stops it returns at
//! once, so a SIGPROF still in flight is handled (ignored), never the default action that
//! would kill the process.

use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::Once;

use super::ring::{Ring, Sample};
use super::unwinder::Snapshot;
use crate::stats::{self, Counter};

/// Whether samples are taken.
static ENABLED: AtomicBool = AtomicBool::new(false);
/// The ring samples go to, set once before the handler is installed.
static RING: AtomicPtr<Ring<Sample>> = AtomicPtr::new(std::ptr::null_mut());

/// Installs the handler (once per process) writing into `ring`. Not signal-safe.
pub(crate) fn install(ring: &'static Ring<Sample>) -> std::io::Result<()> {
    static INSTALL: Once = Once::new();
    let mut result = Ok(());
    INSTALL.call_once(|| {
        RING.store(ring as *const Ring<Sample> as *mut Ring<Sample>, Ordering::Release);
        // SAFETY: a zeroed `sigaction` is a valid empty value; the fields set are the handler
        // (an `extern "C"` function of the SA_SIGINFO signature) and the flags.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_sigprof as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            if libc::sigaction(libc::SIGPROF, &action, std::ptr::null_mut()) != 0 {
                result = Err(std::io::Error::last_os_error());
            }
        }
    });
    result
}

/// Starts or stops taking samples; the handler stays installed either way.
pub(crate) fn set_enabled(enabled: bool) {
    ENABLED.store(enabled, Ordering::Release);
}

/// The start of the kernel's `siginfo_t` for a POSIX timer signal (`si_code == SI_TIMER`).
#[repr(C)]
struct TimerSignalInfo {
    signo: libc::c_int,
    errno: libc::c_int,
    code: libc::c_int,
    _pad: libc::c_int,
    timer_id: libc::c_int,
    overrun: libc::c_int,
}

extern "C" fn on_sigprof(_signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    if !ENABLED.load(Ordering::Acquire) {
        return;
    }
    // SAFETY: reading and later restoring this thread's errno, which the probe `write`s in the
    // stack reader may change under the interrupted code.
    let errno = unsafe { *libc::__errno_location() };
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler; the timer fields are
    // only read when `si_code` says a POSIX timer sent the signal.
    let overrun = unsafe {
        let info = &*info.cast::<TimerSignalInfo>();
        if info.code == libc::SI_TIMER { info.overrun.max(0) as u64 } else { 0 }
    };
    take_sample(context.cast(), 1 + overrun);
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

fn take_sample(context: *const libc::ucontext_t, weight: u64) {
    let ring = RING.load(Ordering::Acquire);
    let (Some(snapshot), false) = (Snapshot::current(), ring.is_null() || context.is_null()) else { return };
    // SAFETY: `RING` holds a `&'static Ring` set before the handler was installed.
    let Some(mut claim) = unsafe { &*ring }.claim() else {
        stats::add(Counter::ProfileSamplesDropped, 1);
        return;
    };
    // SAFETY: the kernel passes the interrupted thread's saved context to an SA_SIGINFO
    // handler; its general registers are plain integers.
    let (ip, sp, bp) = unsafe {
        let registers = &(*context).uc_mcontext.gregs;
        (
            registers[libc::REG_RIP as usize] as u64,
            registers[libc::REG_RSP as usize] as u64,
            registers[libc::REG_RBP as usize] as u64,
        )
    };
    let sample = claim.sample();
    let Some(depth) = snapshot.walk(ip, sp, bp, &mut sample.frames) else {
        stats::add(Counter::ProfileSamplesDropped, 1);
        return;
    };
    sample.depth = depth;
    sample.weight = weight;
    sample.tags.capture();
    sample.span.capture();
    claim.publish();
}

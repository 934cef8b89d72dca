//! The sampling clocks: one CPU-time timer per thread of the process, each sending SIGPROF to
//! its own thread every `1/hz` of that thread's CPU time.
//!
//! Why not `setitimer(ITIMER_PROF)`, the process-wide CPU timer gperftools and pprof-rs use: it
//! is checked at scheduler ticks and raises one process-directed SIGPROF at a time, so when
//! several threads are busy, expirations that coincide coalesce into one pending signal and CPU
//! is under-counted. Measured here on two busy threads at 100 Hz it accounted for 65% of the
//! CPU used (Go saw the same, golang/go#35057, and moved to per-thread timers). A per-thread
//! timer (`timer_create` on the thread's CPU clock, delivered with `SIGEV_THREAD_ID`) fires
//! exactly in proportion to the CPU its thread uses, and its signal is pending on that thread
//! alone.
//!
//! The cost is registration: threads are found by listing `/proc/self/task`, at start and then
//! on every collector pass (every 50 ms), and each new one gets a timer; timers of threads that
//! are gone are deleted. A thread's CPU before it was first seen (at most one pass) is not
//! sampled, so threads that live shorter than that are missed. Runs on the collector thread
//! (and once on the thread calling `init`), never in the signal handler.

use std::collections::HashMap;
use std::time::Duration;

/// The timers of the threads seen so far.
#[derive(Debug)]
pub(crate) struct ThreadTimers {
    period: Duration,
    /// Thread id → kernel timer.
    timers: HashMap<libc::pid_t, libc::timer_t>,
    /// Thread ids listed at the last pass, reused to avoid allocating per pass.
    listed: Vec<libc::pid_t>,
}

// SAFETY: `timer_t` is a kernel timer id (an integer in a pointer type), usable from any thread
// of the process.
unsafe impl Send for ThreadTimers {}

impl ThreadTimers {
    /// No timers yet; [`ThreadTimers::sync`] arms them.
    pub(crate) fn new(period: Duration) -> Self {
        Self { period, timers: HashMap::new(), listed: Vec::new() }
    }

    /// Arms a timer for every thread that has none, and deletes those of threads that exited.
    pub(crate) fn sync(&mut self) -> std::io::Result<()> {
        self.listed.clear();
        for entry in std::fs::read_dir("/proc/self/task")? {
            if let Some(tid) = entry?.file_name().to_str().and_then(|name| name.parse().ok()) {
                self.listed.push(tid);
            }
        }
        self.listed.sort_unstable();
        let listed = &self.listed;
        self.timers.retain(|tid, timer| {
            let alive = listed.binary_search(tid).is_ok();
            if !alive {
                // SAFETY: a timer this set created and has not deleted yet.
                unsafe { libc::timer_delete(*timer) };
            }
            alive
        });
        for &tid in &self.listed {
            if self.timers.contains_key(&tid) {
                continue;
            }
            // A thread can exit between the listing and here: its timer cannot be made, which
            // is fine.
            if let Some(timer) = arm(tid, self.period) {
                self.timers.insert(tid, timer);
            }
        }
        Ok(())
    }

}

impl Drop for ThreadTimers {
    fn drop(&mut self) {
        for (_, timer) in self.timers.drain() {
            // SAFETY: a timer this set created and has not deleted yet.
            unsafe { libc::timer_delete(timer) };
        }
    }
}

/// A timer on thread `tid`'s CPU clock that sends SIGPROF to that thread every `period`.
fn arm(tid: libc::pid_t, period: Duration) -> Option<libc::timer_t> {
    // The kernel's MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED): per-thread, scheduler CPU time.
    let clock = (!tid << 3) | 0b110;
    // SAFETY: a zeroed `sigevent` is valid (the struct is plain integers and padding); the
    // fields set make it "signal SIGPROF to thread `tid`".
    let mut event: libc::sigevent = unsafe { std::mem::zeroed() };
    event.sigev_notify = libc::SIGEV_THREAD_ID;
    event.sigev_signo = libc::SIGPROF;
    event.sigev_notify_thread_id = tid;
    let mut timer: libc::timer_t = std::ptr::null_mut();
    // SAFETY: `event` and `timer` are valid for the call; the kernel checks that the clock and
    // the target thread belong to this process.
    if unsafe { libc::timer_create(clock, &mut event, &mut timer) } != 0 {
        return None;
    }
    let interval = libc::timespec { tv_sec: period.as_secs() as libc::time_t, tv_nsec: i64::from(period.subsec_nanos()) };
    let spec = libc::itimerspec { it_interval: interval, it_value: interval };
    // SAFETY: `timer` was just created; `spec` is a valid itimerspec; the old value is not asked.
    if unsafe { libc::timer_settime(timer, 0, &spec, std::ptr::null_mut()) } != 0 {
        // SAFETY: as above.
        unsafe { libc::timer_delete(timer) };
        return None;
    }
    Some(timer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_thread_gets_a_timer_and_exited_ones_lose_it() {
        let mut timers = ThreadTimers::new(Duration::from_secs(3600));
        let (stop, wait) = std::sync::mpsc::channel::<()>();
        let (started, tid) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            // SAFETY: `gettid` has no preconditions.
            started.send(unsafe { libc::gettid() }).unwrap();
            wait.recv()
        });
        let tid = tid.recv().unwrap();
        timers.sync().unwrap();
        assert!(timers.timers.contains_key(&tid) && timers.timers.len() >= 2);
        drop(stop);
        thread.join().unwrap().unwrap_err();
        timers.sync().unwrap();
        assert!(!timers.timers.contains_key(&tid));
    }
}

//! The profiler tests' tools: the readers of the profiles the runtime wrote (from
//! `spanscope-readback`), a process-wide lock, since the sampler samples the whole process, and
//! CPU clocks to spend a known amount of CPU time.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

pub use spanscope_readback::profiles::{all_samples, decode, flatten, gunzip, read_profiles, FlatSample, Profile};

/// Serialises the tests of one binary that start the sampler: it samples every thread.
pub fn sampler_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The calling thread's CPU time so far.
pub fn thread_cpu() -> Duration {
    cpu_clock(libc_clock::THREAD)
}

/// The process's CPU time so far (every thread, user and system).
pub fn process_cpu() -> Duration {
    cpu_clock(libc_clock::PROCESS)
}

mod libc_clock {
    pub const PROCESS: i32 = 2; // CLOCK_PROCESS_CPUTIME_ID
    pub const THREAD: i32 = 3; // CLOCK_THREAD_CPUTIME_ID
}

fn cpu_clock(clock: i32) -> Duration {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
    }
    let mut ts = Timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid timespec for the call to fill.
    assert_eq!(unsafe { clock_gettime(clock, &mut ts) }, 0);
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Spins on the calling thread until it has used `cpu` of CPU time, calling `work` in a loop.
pub fn burn_for(cpu: Duration, mut work: impl FnMut()) {
    let start = thread_cpu();
    while thread_cpu() - start < cpu {
        work();
    }
}

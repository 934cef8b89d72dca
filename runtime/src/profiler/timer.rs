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
//! on every collector pass (every 50 to 250 ms), and each new one gets a timer; timers of
//! threads that are gone are deleted. A thread's CPU before it was first seen (at most one
//! pass) is not sampled, so threads that live shorter than that are missed. Runs on the
//! collector thread (and once on the thread calling `init`), never in the signal handler.
//!
//! The directory is opened once and read again from its start on each pass (`lseek` and
//! `getdents64`): opening it by path every pass (a path walk, an allocation, `fstat`, `close`)
//! was most of an idle collector's CPU.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::os::fd::AsRawFd;
use std::time::Duration;

/// The timers of the threads seen so far.
#[derive(Debug)]
pub(crate) struct ThreadTimers {
    period: Duration,
    /// Thread id → kernel timer.
    timers: HashMap<libc::pid_t, libc::timer_t>,
    /// Thread ids listed at the last pass, reused to avoid allocating per pass.
    listed: Vec<libc::pid_t>,
    /// `/proc/self/task`, opened at the first pass.
    tasks: Option<File>,
}

// SAFETY: `timer_t` is a kernel timer id (an integer in a pointer type), usable from any thread
// of the process.
unsafe impl Send for ThreadTimers {}

impl ThreadTimers {
    /// No timers yet; [`ThreadTimers::sync`] arms them.
    pub(crate) fn new(period: Duration) -> Self {
        Self { period, timers: HashMap::new(), listed: Vec::new(), tasks: None }
    }

    /// How many threads have a timer.
    pub(crate) fn len(&self) -> usize {
        self.timers.len()
    }

    /// Arms a timer for every thread that has none, and deletes those of threads that exited.
    pub(crate) fn sync(&mut self) -> std::io::Result<()> {
        let tasks = match &mut self.tasks {
            Some(tasks) => tasks,
            tasks @ None => tasks.insert(File::open("/proc/self/task")?),
        };
        list_threads(tasks, &mut self.listed)?;
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

/// Replaces `into` with the thread ids in the open `/proc/self/task` directory.
fn list_threads(tasks: &mut File, into: &mut Vec<libc::pid_t>) -> std::io::Result<()> {
    /// A `linux_dirent64` starts with `d_ino` (8 bytes), `d_off` (8), `d_reclen` (2) and
    /// `d_type` (1); the NUL-terminated name follows.
    const NAME_AT: usize = 19;
    // Aligned for the kernel's 8-byte fields; 4 KiB holds about 150 threads per call.
    let mut buffer = [0u64; 512];
    into.clear();
    tasks.seek(SeekFrom::Start(0))?;
    loop {
        // SAFETY: the kernel writes at most `size_of_val(&buffer)` bytes of whole records into
        // the buffer, which lives for the call.
        let read = unsafe {
            libc::syscall(libc::SYS_getdents64, tasks.as_raw_fd(), buffer.as_mut_ptr(), std::mem::size_of_val(&buffer))
        };
        let Ok(read @ 1..) = usize::try_from(read) else {
            return if read == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) };
        };
        // SAFETY: plain bytes of the buffer, of which the kernel filled the first `read`.
        let records = unsafe { std::slice::from_raw_parts(buffer.as_ptr().cast::<u8>(), read) };
        let mut at = 0;
        while at + NAME_AT < records.len() {
            let length = usize::from(u16::from_ne_bytes([records[at + 16], records[at + 17]]));
            if length <= NAME_AT || at + length > records.len() {
                // Not a record the kernel writes: stop rather than loop on it or read past it.
                return Err(std::io::ErrorKind::InvalidData.into());
            }
            let name = &records[at + NAME_AT..at + length];
            let name = &name[..name.iter().position(|&byte| byte == 0).unwrap_or(name.len())];
            // `.` and `..` are not numbers.
            if let Some(tid) = std::str::from_utf8(name).ok().and_then(|name| name.parse().ok()) {
                into.push(tid);
            }
            at += length;
        }
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

    #[test]
    fn lists_what_read_dir_lists_even_past_one_buffer() {
        // More threads than one 4 KiB `getdents64` call returns, so the listing takes several.
        let (stop, wait) = std::sync::mpsc::channel::<()>();
        let wait = std::sync::Arc::new(std::sync::Mutex::new(wait));
        let threads: Vec<_> = (0..200)
            .map(|_| {
                let wait = wait.clone();
                std::thread::spawn(move || drop(wait.lock().map(|wait| wait.recv())))
            })
            .collect();
        let mut tasks = File::open("/proc/self/task").unwrap();
        let mut listed = Vec::new();
        for _ in 0..2 {
            // Twice through the same descriptor: each pass starts again from the top.
            list_threads(&mut tasks, &mut listed).unwrap();
            let mut expected: Vec<libc::pid_t> = std::fs::read_dir("/proc/self/task")
                .unwrap()
                .map(|entry| entry.unwrap().file_name().to_str().unwrap().parse().unwrap())
                .collect();
            listed.sort_unstable();
            expected.sort_unstable();
            // Test threads of other tests may come and go between the two listings.
            let common = listed.iter().filter(|tid| expected.binary_search(tid).is_ok()).count();
            assert!(listed.len() > 200 && common + 8 >= expected.len(), "{} listed, {} expected", listed.len(), expected.len());
        }
        drop(stop);
        threads.into_iter().for_each(|thread| thread.join().unwrap());
    }
}

//! The allocation sampler under stress, with `spanscope::alloc::Profiled` as this binary's global
//! allocator and a sample every 4 KiB on average, so that the hook's slow path (stack walk, ring
//! slot, live-block table) runs tens of thousands of times: eight threads allocate small and
//! large blocks, hand half of them to the next thread to free, spawn short-lived threads (which
//! spawn their own, and allocate in their thread-local destructors as they end), panic and catch
//! it inside tagged functions, and each forks a child that allocates, frees the parent's blocks
//! and exits. Nothing may crash or deadlock (a watchdog aborts the binary, saying so, long after
//! the work should have ended), and the counts must add up: the samples taken and dropped are as
//! many as the bytes allocated call for, every sampled block freed is gone from the live profile,
//! the blocks kept are all there, nothing is left untracked, and the profile decodes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::hint::black_box;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use spanscope::alloc::Profiled;
use spanscope::profiler::ProfilerConfig;
use spanscope::{local, profiled};
use spanscope_readback::alloc_profiles::{self, AllocProfile, AllocSample};
use spanscope_tests::fresh_dir;

#[global_allocator]
static ALLOC: Profiled<Counted> = Profiled::new(Counted);

spanscope::tags! {
    pub worker: u64,
    pub phase: &'static str,
}

/// The mean bytes between two samples.
const RATE: u64 = 4096;
const WORKERS: u64 = 8;
/// Rounds of allocation each worker makes: some 450 MiB in all.
const ROUNDS: u64 = 320;
/// Blocks kept live across the whole run, and their size: each is sampled all but surely
/// (`1 - exp(-16)`), so the live profile must show all of them at the end.
const KEPT: usize = 64;
const KEPT_SIZE: usize = 64 * 1024;
/// One window for the whole run: while the collector resolves and writes a window it drains no
/// sample, and a debug build on a loaded machine takes seconds to, in which all but a ring's
/// worth of this run's samples would be dropped.
const INTERVAL: Duration = Duration::from_secs(3600);
/// How long the run may take before the watchdog calls it a deadlock: far beyond the seconds it
/// takes in a debug build on a loaded machine.
const WATCHDOG: Duration = Duration::from_secs(300);

/// The system allocator, counting the bytes the test's own threads allocate and how many
/// samples those allocations call for (the sum of each one's chance of being sampled, `1 -
/// exp(-size / RATE)`), to hold the sampler's counts against.
struct Counted;

/// Bytes allocated on counted threads.
static BYTES: AtomicU64 = AtomicU64::new(0);
/// Samples expected from them, in units of 2^-32.
static EXPECTED: AtomicU64 = AtomicU64::new(0);
const EXPECTED_ONE: f64 = (1u64 << 32) as f64;

thread_local! {
    /// Whether this thread is one of the test's, whose allocations are counted. Const and
    /// without a destructor: the allocator reads it at any point of a thread's life.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

fn count(size: usize) {
    if COUNTED.with(Cell::get) {
        BYTES.fetch_add(size as u64, Ordering::Relaxed);
        let chance = -(-(size as f64) / RATE as f64).exp_m1();
        EXPECTED.fetch_add((chance * EXPECTED_ONE) as u64, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments and returns what it
// returned; the counting touches only atomics and a const thread-local without a destructor,
// so it neither allocates, nor locks, nor panics.
unsafe impl GlobalAlloc for Counted {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let block = unsafe { System.alloc(layout) };
        if !block.is_null() {
            count(layout.size());
        }
        block
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let block = unsafe { System.alloc_zeroed(layout) };
        if !block.is_null() {
            count(layout.size());
        }
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(block, layout) }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let moved = unsafe { System.realloc(block, layout, new_size) };
        // As `Profiled` counts it: the new size allocated.
        if !moved.is_null() {
            count(new_size);
        }
        moved
    }
}

/// A thread of the test's: its allocations are counted.
fn spawn<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> std::thread::JoinHandle<T> {
    std::thread::spawn(move || {
        COUNTED.with(|counted| counted.set(true));
        f()
    })
}

/// A small deterministic generator for sizes.
fn next(seed: &mut u64) -> u64 {
    *seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
    *seed >> 33
}

type Parcel = Vec<Box<[u8]>>;

/// One round's blocks: many small ones, a few of a few KiB, now and then one of up to a MiB
/// (zeroed), and a vector grown push by push (reallocations). Like every function the checks
/// look for on a stack, kept out of line, so that a release build's profile names it too.
#[inline(never)]
fn churn(seed: &mut u64) -> Parcel {
    let mut blocks: Parcel = Vec::new();
    for _ in 0..48 {
        blocks.push(vec![1u8; 8 + next(seed) as usize % 500].into_boxed_slice());
    }
    for _ in 0..4 {
        blocks.push(vec![2u8; 1024 + next(seed) as usize % (15 * 1024)].into_boxed_slice());
    }
    if next(seed).is_multiple_of(8) {
        blocks.push(vec![0u8; 64 * 1024 + next(seed) as usize % (960 * 1024)].into_boxed_slice());
    }
    let mut grown = Vec::new();
    for i in 0..(next(seed) % 4096) {
        grown.push(i as u8);
    }
    blocks.push(grown.into_boxed_slice());
    blocks
}

/// Allocates, then panics with an allocated message, inside a tag and a span.
#[local]
#[profiled(phase = "panicking")]
#[inline(never)]
fn explode(seed: &mut u64) {
    black_box(churn(seed));
    panic!("planned panic {seed}");
}

/// A thread-local whose destructor allocates as its thread ends, and hands a block to a worker
/// to free.
struct AtExit {
    seed: u64,
    outbox: Sender<Parcel>,
}

impl Drop for AtExit {
    #[inline(never)]
    fn drop(&mut self) {
        let mut parcel = churn(&mut self.seed);
        black_box((0..32).map(|i| format!("{i} at exit")).collect::<Vec<_>>());
        parcel.truncate(8);
        // The worker may be gone already; the parcel is then freed here.
        let _ = self.outbox.send(parcel);
    }
}

thread_local! {
    static AT_EXIT: RefCell<Option<AtExit>> = const { RefCell::new(None) };
}

/// A short-lived thread: allocates, spawns one of its own when `depth` allows, and allocates
/// again in its thread-local destructor as it ends.
#[inline(never)]
fn short_lived(mut seed: u64, outbox: Sender<Parcel>, depth: u32) {
    let handed = outbox.clone();
    AT_EXIT.with(|at_exit| *at_exit.borrow_mut() = Some(AtExit { seed: seed ^ 1, outbox: handed }));
    black_box(churn(&mut seed));
    if depth > 0 {
        let inner = outbox.clone();
        spawn(move || short_lived(seed ^ 2, inner, depth - 1)).join().expect("a short-lived thread died");
    }
    let _ = outbox.send(churn(&mut seed));
}

/// The sum of a parcel's bytes.
fn checksum(parcel: &Parcel) -> u64 {
    parcel.iter().flat_map(|block| block.iter()).map(|&byte| u64::from(byte)).sum()
}

/// Forks a child that allocates, then checks and frees `held` (the parent's blocks, some of them
/// sampled) and exits with 0 if they read back as they were; waits for it and checks it did.
fn fork_and_wait(held: Parcel, seed: u64) {
    let sum = checksum(&held);
    // SAFETY: the child runs only the code below on its one thread: allocations and frees
    // through the global allocator (glibc's `malloc` is fork-safe, and spanscope's fork handler
    // switches sampling off in the child), then `_exit`, which runs no destructor or handler.
    let child = unsafe { libc::fork() };
    assert!(child >= 0, "fork failed");
    if child == 0 {
        let mut seed = seed;
        for _ in 0..64 {
            black_box(churn(&mut seed));
        }
        let ok = checksum(&held) == sum;
        drop(held);
        // SAFETY: ends the child without running anything of the parent's.
        unsafe { libc::_exit(if ok { 0 } else { 3 }) };
    }
    drop(held);
    let mut status = 0;
    let started = Instant::now();
    // SAFETY: polling our own child, with a valid place for its status.
    while unsafe { libc::waitpid(child, &mut status, libc::WNOHANG) } == 0 {
        if started.elapsed() > WATCHDOG {
            // SAFETY: killing and reaping our own child.
            unsafe {
                libc::kill(child, libc::SIGKILL);
                libc::waitpid(child, &mut status, 0);
            }
            panic!("the forked child hung in the allocator");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the forked child ended with status {status:#x}"
    );
}

/// What a worker did, for the report.
#[derive(Debug, Default)]
struct Done {
    panics: u64,
    threads: u64,
    forks: u64,
}

#[profiled(worker = id)]
#[inline(never)]
fn work(id: u64, inbox: Receiver<Parcel>, outbox: Sender<Parcel>) -> Done {
    let mut seed = id + 1;
    let mut done = Done::default();
    for round in 0..ROUNDS {
        let mut parcel = churn(&mut seed);
        // Half to the next worker, to be freed there; the rest freed here.
        let half = parcel.split_off(parcel.len() / 2);
        let _ = outbox.send(half);
        drop(parcel);
        while let Ok(parcel) = inbox.try_recv() {
            drop(parcel);
        }
        match round % 16 {
            3 => {
                let outbox = outbox.clone();
                let s = seed;
                spawn(move || short_lived(s, outbox, 1)).join().expect("a short-lived thread died");
                done.threads += 2;
            }
            7 | 11 => {
                assert!(catch_unwind(AssertUnwindSafe(|| explode(&mut seed))).is_err());
                done.panics += 1;
            }
            _ => {}
        }
        if round == ROUNDS / 2 + id {
            fork_and_wait(churn(&mut seed), seed);
            done.forks += 1;
        }
    }
    drop(outbox);
    // Until the previous worker is done and drops its sender.
    for parcel in inbox {
        drop(parcel);
    }
    done
}

/// A block kept live until after the last window.
#[inline(never)]
fn keep() -> Box<[u8]> {
    vec![7u8; KEPT_SIZE].into_boxed_slice()
}

/// Aborts the process if not told to stand down within [`WATCHDOG`]: a deadlock would
/// otherwise hang the test run.
fn watchdog() -> Sender<()> {
    let (stand_down, told) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if told.recv_timeout(WATCHDOG) == Err(mpsc::RecvTimeoutError::Timeout) {
            eprintln!("alloc_stress: not done after {WATCHDOG:?}: a deadlock; aborting");
            std::process::abort();
        }
    });
    stand_down
}

/// Keeps the planned panics quiet, and every other one as loud as usual.
fn quiet_planned_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let planned = info.payload().downcast_ref::<String>().is_some_and(|m| m.starts_with("planned panic"));
        if !planned {
            default(info);
        }
    }));
}

/// The four sample types and the period of an allocation profile sampled at [`RATE`].
fn check_types(profile: &AllocProfile) {
    let types: Vec<(&str, &str)> = profile.sample_types.iter().map(|(t, u)| (t.as_str(), u.as_str())).collect();
    assert_eq!(
        types,
        [("alloc_objects", "count"), ("alloc_space", "bytes"), ("inuse_objects", "count"), ("inuse_space", "bytes")]
    );
    let (kind, unit) = &profile.period_type;
    assert_eq!((kind.as_str(), unit.as_str(), profile.period), ("space", "bytes", RATE as i64));
}

/// The sum of `value` over the samples `which` picks.
fn total<'a>(
    samples: impl IntoIterator<Item = &'a AllocSample>,
    value: fn(&AllocSample) -> i64,
    which: impl Fn(&AllocSample) -> bool,
) -> i64 {
    samples.into_iter().filter(|s| which(s)).map(value).sum()
}

/// Whether the sample's stack goes through the function of this test called `name`.
fn through(sample: &AllocSample, name: &str) -> bool {
    let name = format!("alloc_stress::{name}");
    sample.functions.iter().any(|f| f.contains(&name))
}

#[test]
fn eight_threads_allocating_freeing_across_threads_spawning_panicking_and_forking() {
    let stand_down = watchdog();
    quiet_planned_panics();
    let dir = fresh_dir("alloc-stress");
    let config = spanscope::Config::new()
        .service_name("alloc-stress")
        .out_dir(&dir)
        .exporters([])
        // Symbolising a debug build's windows on a loaded machine can take many seconds; the
        // last must be written before the folder is read.
        .shutdown_timeout(Duration::from_secs(120))
        .profiler(ProfilerConfig::new().interval(INTERVAL).alloc_sample_bytes(RATE));
    let before = spanscope::stats();
    let guard = spanscope::init(config);
    let started = Instant::now();

    // Each the first allocation of a new thread.
    let kept: Vec<Box<[u8]>> = (0..KEPT).map(|_| spawn(keep).join().expect("a keeping thread died")).collect();
    let (senders, inboxes): (Vec<_>, Vec<_>) = (0..WORKERS).map(|_| mpsc::channel::<Parcel>()).unzip();
    let workers: Vec<_> = inboxes
        .into_iter()
        .enumerate()
        .map(|(id, inbox)| {
            let outbox = senders[(id + 1) % senders.len()].clone();
            spawn(move || work(id as u64, inbox, outbox))
        })
        .collect();
    drop(senders);
    let done: Vec<Done> = workers.into_iter().map(|w| w.join().expect("a worker died")).collect();
    let worked = started.elapsed();
    drop(guard);
    let _ = stand_down.send(());
    let _ = std::panic::take_hook();

    let after = spanscope::stats();
    let taken = after.alloc_samples - before.alloc_samples;
    let dropped = after.alloc_samples_dropped - before.alloc_samples_dropped;
    let untracked = after.alloc_blocks_untracked - before.alloc_blocks_untracked;
    let bytes = BYTES.load(Ordering::Relaxed);
    let expected = EXPECTED.load(Ordering::Relaxed) as f64 / EXPECTED_ONE;
    let profiles = alloc_profiles::read(&dir);
    let [profile] = profiles.as_slice() else { panic!("one window: {profiles:?}") };
    check_types(profile);
    let samples = &profile.samples;
    let sum = |f: fn(&Done) -> u64| done.iter().map(f).sum::<u64>();
    eprintln!(
        "alloc_stress: {WORKERS} workers in {worked:?}, the profile written {:?} after the start; {} panics \
         caught, {} threads ended, {} forks; {} MiB allocated, {expected:.0} samples expected, {taken} taken, \
         {dropped} dropped, {untracked} untracked; {} MiB estimated allocated",
        started.elapsed(),
        sum(|d| d.panics),
        sum(|d| d.threads),
        sum(|d| d.forks),
        bytes >> 20,
        total(samples, |s| s.alloc_space, |_| true) >> 20,
    );
    assert_eq!((sum(|d| d.forks), sum(|d| d.panics)), (WORKERS, WORKERS * ROUNDS / 8));

    // Every sample the hook took or dropped is counted, as many as the bytes call for. Both
    // counts also hold the few samples of the harness's own thread, not counted in `expected`.
    let error = (taken + dropped) as f64 - expected;
    assert!(
        error.abs() < expected * 0.05 + 5.0 * expected.sqrt(),
        "{taken} + {dropped} samples, {expected:.0} expected"
    );
    assert!(taken > 0);
    assert_eq!(untracked, 0, "the live-block table has room for every sampled block here");
    // The bytes the samples not dropped stand for, within a factor of 2 (large blocks, few of
    // them left when most samples are dropped, make the estimate noisy), leaving out the kept
    // blocks, none of which is dropped.
    let kept_bytes = (KEPT * KEPT_SIZE) as f64;
    let estimated = total(samples, |s| s.alloc_space, |s| !through(s, "keep")) as f64;
    let standing_for = (bytes as f64 - kept_bytes) * taken as f64 / (taken + dropped) as f64;
    assert!(
        (0.5..2.0).contains(&(estimated / standing_for)),
        "{estimated} bytes estimated, {standing_for:.0} expected"
    );

    // The window ends after every worker: every block `churn` made, on whichever thread, was
    // freed, on whichever thread, so none of it is live; the kept blocks are, all of them. The
    // rest of the live heap is a few blocks of spanscope's own (channel blocks its spans and
    // panic hook allocated on these threads).
    let kept_live = total(samples, |s| s.inuse_objects, |s| through(s, "keep"));
    let kept_space = total(samples, |s| s.inuse_space, |s| through(s, "keep"));
    assert_eq!((kept_live, kept_space), (KEPT as i64, (KEPT * KEPT_SIZE) as i64), "{profile:?}");
    let live: Vec<_> = samples.iter().filter(|s| through(s, "churn") && s.inuse_objects > 0).collect();
    assert!(live.is_empty(), "freed blocks are not live: {live:#?}");
    let others = total(samples, |s| s.inuse_space, |s| !through(s, "keep"));
    assert!(others < 256 << 10, "{others} bytes live besides the kept blocks");

    // Sampled everywhere: under every worker's tag, in panics, in short-lived threads and their
    // thread-local destructors; tags only on the thread that set them.
    for sample in samples {
        if sample.has("alloc_stress::work") {
            let worker = sample.label("worker").and_then(|w| w.parse::<u64>().ok());
            assert!(worker.is_some_and(|w| w < WORKERS), "{sample:?}");
        } else {
            assert_eq!(sample.label("worker"), None, "{sample:?}");
        }
        if through(sample, "explode") && through(sample, "churn") {
            assert_eq!(sample.label("phase"), Some("panicking"), "{sample:?}");
        }
    }
    for worker in 0..WORKERS {
        assert!(
            samples.iter().any(|s| s.label("worker") == Some(&*worker.to_string())),
            "nothing sampled in worker {worker}"
        );
    }
    for function in ["explode", "short_lived", "AtExit as core::ops::drop::Drop>::drop"] {
        assert!(samples.iter().any(|s| through(s, function) && s.alloc_objects > 0), "nothing sampled in {function}");
    }
    drop(kept);
}

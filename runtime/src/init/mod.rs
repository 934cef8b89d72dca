//! The process-wide state: [`init`], its [`Guard`] and [`flush`].
//!
//! The state that hot paths read is one pointer, published with release ordering at `init`
//! and cleared at shutdown. A shut-down state is not freed: a thread may still be reading it
//! without synchronisation, so it stays allocated (a few hundred bytes and the queue's slots
//! per `init`; processes call `init` a handful of times at most).

pub(crate) mod panic_hook;

use std::fmt;
use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
use std::sync::{mpsc, Mutex, TryLockError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::config::{Config, ConfigError, Settings};
use crate::export::{self, Control, ControlSender, QueueSender};
use crate::span::Sampler;

/// What the hot paths need, for the life of one `init`.
#[derive(Debug)]
pub(crate) struct Shared {
    pub sampler: Sampler,
    pub service: String,
    pub instance: String,
    pub propagators: Vec<crate::Propagator>,
    pub max_spans: u32,
    pub queue: QueueSender,
    control: ControlSender,
    shutdown_timeout: Duration,
}

static SHARED: AtomicPtr<Shared> = AtomicPtr::new(std::ptr::null_mut());
/// The process whose threads the running state's are (its id), or 0 when nothing runs. In a
/// child forked without `exec`, the state is the parent's copy and none of its threads are
/// there (see `fork`).
static THREADS_PROCESS: AtomicU32 = AtomicU32::new(0);
/// Serialises `init` and shutdown, and holds what a shutdown stops. The guard's drop shuts it
/// down, or, in a `#[spanscope::main]` program ended by a signal, the thread that waits for it.
static STATE: Mutex<State> = Mutex::new(State::Idle);

#[derive(Debug)]
enum State {
    /// Never initialised, or shut down.
    Idle,
    /// Initialised with `OTEL_SDK_DISABLED=true`: nothing runs.
    Disabled,
    Running(Running),
}

fn state() -> std::sync::MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

/// The running state, if spanscope is initialised and enabled.
#[inline]
pub(crate) fn shared() -> Option<&'static Shared> {
    let pointer = SHARED.load(Ordering::Acquire);
    // SAFETY: a non-null pointer was published by `try_init` from `Box::leak`, so it points to a
    // `Shared` that is never freed or mutated.
    (!pointer.is_null()).then(|| unsafe { &*pointer })
}

/// Why [`try_init`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum InitError {
    /// A configuration value is invalid; the error names its environment variable.
    Config(ConfigError),
    /// An output could not be opened.
    Io {
        /// What could not be opened.
        path: std::path::PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// spanscope is already initialised; drop the first guard before initialising again.
    AlreadyInitialized,
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(error) => error.fmt(f),
            Self::Io { path, error } => write!(f, "cannot write to {}: {error}", path.display()),
            Self::AlreadyInitialized => f.write_str("spanscope is already initialised"),
        }
    }
}

impl std::error::Error for InitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Config(error) => Some(error),
            Self::Io { error, .. } => Some(error),
            Self::AlreadyInitialized => None,
        }
    }
}

impl From<ConfigError> for InitError {
    fn from(error: ConfigError) -> Self {
        Self::Config(error)
    }
}

/// Keeps spanscope running; dropping it flushes everything within the shutdown timeout and
/// shuts the exporters down.
#[must_use = "spanscope shuts down when the guard is dropped"]
#[derive(Debug)]
pub struct Guard {
    _private: (),
}

#[derive(Debug)]
struct Running {
    control: ControlSender,
    reporter: JoinHandle<()>,
    shutdown_timeout: Duration,
    profiler: Option<crate::profiler::Running>,
}

/// Initialises spanscope: reads the environment over `config`, starts the exporters on a
/// background thread and installs the panic hook.
///
/// # Panics
/// If the configuration is invalid (the message names the variable) or an output cannot be
/// opened. Use [`try_init`] to handle those errors.
pub fn init(config: Config) -> Guard {
    try_init(config).unwrap_or_else(|error| panic!("spanscope: {error}"))
}

/// Like [`init`], returning configuration and output errors.
pub fn try_init(config: Config) -> Result<Guard, InitError> {
    // Read as the OS has them: a value that is not UTF-8 is an error naming its variable.
    let settings = config.resolve(&|name| std::env::var_os(name))?;
    let mut state = state();
    if !matches!(*state, State::Idle) {
        return Err(InitError::AlreadyInitialized);
    }
    crate::init::panic_hook::install();
    crate::stderr::hide_secrets(credentials(&settings));
    if settings.disabled {
        *state = State::Disabled;
        return Ok(Guard { _private: () });
    }
    crate::clock::start();
    let export::Started { queue, control, reporter, profiles } = export::start(&settings)?;
    let profiler = crate::profiler::start(&settings, profiles)?;
    let Settings {
        sampler, max_spans_per_segment, shutdown_timeout, service_name, service_instance, propagators, ..
    } = settings;
    let shared = Box::leak(Box::new(Shared {
        sampler,
        service: service_name,
        instance: service_instance,
        propagators,
        max_spans: max_spans_per_segment,
        queue,
        control: control.clone(),
        shutdown_timeout,
    }));
    SHARED.store(shared, Ordering::Release);
    THREADS_PROCESS.store(std::process::id(), Ordering::Release);
    #[cfg(target_os = "linux")]
    crate::sys::fork::watch();
    *state = State::Running(Running { control, reporter, shutdown_timeout, profiler });
    Ok(Guard { _private: () })
}

/// The credentials the exporters send, which no line on standard error may show.
fn credentials(settings: &Settings) -> Vec<&str> {
    let otlp = settings.backends.otlp.iter().flat_map(|otlp| otlp.headers.values());
    let pyroscope = settings.profiler.pyroscope.iter().flat_map(|pyroscope| pyroscope.headers.values());
    let skywalking = settings.backends.skywalking.iter().filter_map(|skywalking| skywalking.authentication.as_deref());
    otlp.chain(pyroscope).filter_map(|value| value.to_str().ok()).chain(skywalking).collect()
}

/// Exports everything finished so far and waits for the exporters to write it, for at most
/// the shutdown timeout. Returns whether everything was written in time.
pub fn flush() -> bool {
    let Some(shared) = shared() else { return true };
    request(&shared.control, |done, deadline| Control::Flush { done, deadline }, shared.shutdown_timeout)
}

/// Asks the reporter to export everything finished so far, without waiting for it.
pub(crate) fn flush_soon() {
    if let Some(shared) = shared() {
        let (done, _) = mpsc::channel();
        let deadline = Instant::now() + shared.shutdown_timeout;
        let _ = shared.control.send(Control::Flush { done, deadline });
    }
}

/// Sends a control request to the reporter and waits for its answer until the deadline the
/// request carries: whether everything was delivered.
fn request(control: &ControlSender, make: fn(mpsc::Sender<bool>, Instant) -> Control, timeout: Duration) -> bool {
    if export::is_reporter_thread() {
        return false;
    }
    let (done, answer) = mpsc::channel();
    if control.send(make(done, Instant::now() + timeout)).is_err() {
        return false;
    }
    answer.recv_timeout(timeout).unwrap_or(false)
}

impl Drop for Guard {
    fn drop(&mut self) {
        shut_down();
    }
}

/// Shuts down what [`init`] started, if it still runs: what the guard's drop does, and what a
/// `#[spanscope::main]` program does on a signal that ends it. Returns when everything queued
/// was delivered or counted as lost, or at the shutdown timeout.
pub(crate) fn shut_down() {
    if is_forked_child() {
        return shut_down_forked_child();
    }
    let mut state = state();
    let State::Running(mut running) = std::mem::replace(&mut *state, State::Idle) else { return };
    THREADS_PROCESS.store(0, Ordering::Release);
    // One deadline for the whole shutdown, profiler and exporters together.
    let now = Instant::now();
    let deadline = now + running.shutdown_timeout;
    // The last profile covers the program up to here, spans included. It may take half the time
    // at most (symbolising a large binary's first window is slow in a debug build), so that the
    // exporters always keep the other half to deliver, or at least count, what is queued.
    if let Some(profiler) = running.profiler.take() {
        profiler.stop(now + running.shutdown_timeout / 2);
    }
    // New segments become no-ops from here; ones still open are counted when they end.
    SHARED.store(std::ptr::null_mut(), Ordering::Release);
    let (done, answer) = mpsc::channel();
    let sent = running.control.send(Control::Shutdown { done, deadline }).is_ok();
    // The reporter answers by the deadline, having counted and reported what it could not
    // deliver; only then is it safe to wait for the thread to end.
    if sent && answer.recv_timeout(deadline.saturating_duration_since(Instant::now())).is_ok() {
        let _ = running.reporter.join();
    } else {
        stderr_line!(
            "spanscope: shutdown did not finish within {:?}; spans still queued are lost",
            running.shutdown_timeout
        );
    }
}

/// Whether this process is a child forked without `exec` from one where spanscope runs.
fn is_forked_child() -> bool {
    let process = THREADS_PROCESS.load(Ordering::Acquire);
    process != 0 && process != std::process::id()
}

/// Stops what hot paths read, as a shutdown does. Async-signal-safe: for the child handler of
/// `fork`, in a child that may not call anything else.
pub(crate) fn stop_recording() {
    SHARED.store(std::ptr::null_mut(), Ordering::Release);
}

/// The shutdown of a child forked without `exec`: immediate, since the reporter and the
/// profiler's collector are the parent's threads, and nothing queued here can be delivered.
fn shut_down_forked_child() {
    let parent = THREADS_PROCESS.swap(0, Ordering::AcqRel);
    stop_recording();
    // A lock the parent held at the fork is never released here.
    let mut state = match STATE.try_lock() {
        Ok(state) => Some(state),
        Err(TryLockError::Poisoned(state)) => Some(state.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    };
    if let Some(State::Running(running)) = state.as_deref_mut().map(|state| std::mem::replace(state, State::Idle)) {
        // It names the parent's threads and channels: dropping it here could wake them.
        std::mem::forget(running);
    }
    #[cfg(target_os = "linux")]
    let dropped = crate::sys::fork::spans_dropped_in_child();
    #[cfg(not(target_os = "linux"))]
    let dropped: Option<u64> = None;
    let what = match dropped {
        Some(dropped) => format!(
            "nothing is recorded or exported here after the fork; {dropped} span{} open at the fork ended \
             here and {} dropped (counted in spans_dropped_shutdown)",
            if dropped == 1 { "" } else { "s" },
            if dropped == 1 { "was" } else { "were" },
        ),
        None => "nothing made here is exported".to_owned(),
    };
    stderr_line!(
        "spanscope: process {} was forked from process {parent} without exec, and spanscope's threads run \
         in the parent: {what}",
        std::process::id()
    );
}

/// For `#[spanscope::main]`: like [`init`], but a bad configuration ends the process with the
/// error on standard error and exit status 1, as a start-up error should.
///
/// On Linux it also makes the signals that end a process by default (SIGINT, SIGTERM, SIGHUP)
/// shut spanscope down first, unless the program handles them (see `exit_signal`).
#[doc(hidden)]
pub fn init_main(config: Config) -> Guard {
    let guard = try_init(config).unwrap_or_else(|error| {
        stderr_line!("error: spanscope: {error}");
        std::process::exit(1)
    });
    #[cfg(target_os = "linux")]
    if shared().is_some() {
        crate::sys::exit_signal::install();
    }
    guard
}

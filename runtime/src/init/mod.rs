//! [`init`], its [`Guard`] and [`flush`]: the one place that wires configuration, export and
//! the profiler together, and shuts them down.
//!
//! `init` resolves the settings and each backend's, starts the reporter thread (`export`) and
//! the profiler with the reporter's hand-over as one of its sinks, turns metrics recording on
//! when a metrics exporter is configured, installs the outbox finished segments go to, then
//! publishes the run's state (`state`) that hot paths read. Shutdown does it backwards.

pub(crate) mod panic_hook;

use std::ffi::OsString;
use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
use std::sync::{mpsc, Mutex, TryLockError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::config::env::Vars;
use crate::config::metrics::{ExemplarFilter, MetricsSettings};
use crate::config::{Config, ConfigError, Settings};
use crate::error::InitError;
use crate::export::{self, Backends, Control, ControlSender};

/// How `flush` reaches the reporter of the current run without a lock (the panic hook flushes
/// too, and a panic may happen while `LIFECYCLE` is held). Like the run's state, never freed.
#[derive(Debug)]
struct ReporterLink {
    control: ControlSender,
    shutdown_timeout: Duration,
}

static REPORTER: AtomicPtr<ReporterLink> = AtomicPtr::new(std::ptr::null_mut());
/// The process whose threads the current run's are (its id), or 0 when nothing runs. In a
/// child forked without `exec`, the run is the parent's copy and none of its threads are there
/// (see `sys::fork`).
static THREADS_PROCESS: AtomicU32 = AtomicU32::new(0);
/// Serialises `init` and shutdown, and holds what a shutdown stops. The guard's drop shuts it
/// down, or, in a `#[spanscope::main]` program ended by a signal, the thread that waits for it.
static LIFECYCLE: Mutex<Lifecycle> = Mutex::new(Lifecycle::Idle);

#[derive(Debug)]
enum Lifecycle {
    /// Never initialised, or shut down.
    Idle,
    /// Initialised with `OTEL_SDK_DISABLED=true`: nothing runs.
    Disabled,
    Running(Services),
}

/// What a shutdown stops.
#[derive(Debug)]
struct Services {
    control: ControlSender,
    reporter: JoinHandle<()>,
    shutdown_timeout: Duration,
    profiler: Option<crate::profiler::Profiler>,
    /// The metrics pull endpoints, serving until dropped.
    endpoints: Vec<crate::export::metrics::prometheus::Server>,
}

fn lifecycle() -> std::sync::MutexGuard<'static, Lifecycle> {
    LIFECYCLE.lock().unwrap_or_else(|e| e.into_inner())
}

/// The reporter of the current run, if spanscope is initialised and enabled.
fn reporter() -> Option<&'static ReporterLink> {
    crate::state::current()?;
    let pointer = REPORTER.load(Ordering::Acquire);
    // SAFETY: a non-null pointer was published by `try_init` from `Box::leak`, so it points to a
    // `ReporterLink` that is never freed or mutated.
    (!pointer.is_null()).then(|| unsafe { &*pointer })
}

/// Keeps spanscope running; dropping it flushes everything within the shutdown timeout and
/// shuts the exporters down.
#[must_use = "spanscope shuts down when the guard is dropped"]
#[derive(Debug)]
pub struct Guard {
    _private: (),
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
    let (settings, backends) = resolve(config, &|name| std::env::var_os(name))?;
    let mut lifecycle = lifecycle();
    if !matches!(*lifecycle, Lifecycle::Idle) {
        return Err(InitError::AlreadyInitialized);
    }
    panic_hook::install();
    crate::stderr::hide_secrets(backends.credentials());
    if settings.disabled {
        *lifecycle = Lifecycle::Disabled;
        return Ok(Guard { _private: () });
    }
    crate::clock::start();
    // Bound first: a port in use stops `init` before any thread starts.
    let endpoints =
        export::metrics::endpoints(&backends.metrics, &std::sync::Arc::new(export::Resource::new(&settings)))?;
    let export::ReporterHandle { outbox, logs, control, reporter, profiles } = export::start(&settings, &backends)?;
    let profiler = match settings.profiler.enabled {
        true => {
            crate::profiler::start(&settings.profiler, export::profile_sinks(&settings, &backends.profiles, profiles)?)?
        }
        false => None,
    };
    if !backends.metrics.is_empty() {
        start_metrics(&settings.metrics);
    }
    let Settings {
        sampler, max_spans_per_segment, shutdown_timeout, service_name, service_instance, propagators, ..
    } = settings;
    crate::span::outbox::install(outbox);
    crate::logs::queue::install(logs);
    let logs = &settings.logs;
    crate::state::publish_logs(crate::state::LogRun {
        export: !backends.logs.is_empty(),
        filter: logs.filter.clone(),
        limits: logs.limits,
        rate_limit: logs.rate_limit,
    });
    crate::integrations::logs_filter_changed();
    let link = ReporterLink { control: control.clone(), shutdown_timeout };
    REPORTER.store(Box::leak(Box::new(link)), Ordering::Release);
    crate::state::publish(crate::state::Run {
        sampler,
        service: service_name,
        instance: service_instance,
        propagators,
        max_spans: max_spans_per_segment,
    });
    THREADS_PROCESS.store(std::process::id(), Ordering::Release);
    #[cfg(target_os = "linux")]
    crate::sys::fork::watch();
    *lifecycle = Lifecycle::Running(Services { control, reporter, shutdown_timeout, profiler, endpoints });
    Ok(Guard { _private: () })
}

/// Turns metrics recording on for a run: its limit and exemplar filter, the built-in process and
/// spanscope metrics, and its values counted from now. Without a metrics exporter it stays off, and a recording costs one check.
fn start_metrics(settings: &MetricsSettings) {
    use crate::metrics::{collect, exemplar, registry};
    registry::set_cardinality_limit(settings.cardinality_limit);
    exemplar::set_filter(match settings.exemplar_filter {
        ExemplarFilter::TraceBased => exemplar::Filter::TraceBased,
        ExemplarFilter::AlwaysOn => exemplar::Filter::AlwaysOn,
        ExemplarFilter::AlwaysOff => exemplar::Filter::AlwaysOff,
    });
    // Registered once for the process: a later run without them still reads them.
    crate::metrics::auto::register(settings.process, settings.own);
    collect::start_run();
    registry::set_enabled(true);
}

/// The settings `environment` (the process's, in `init`) and `config` give, then the settings
/// of each backend they configure.
fn resolve(
    mut config: Config,
    environment: &dyn Fn(&str) -> Option<OsString>,
) -> Result<(Settings, Backends), ConfigError> {
    let vars = Vars::new(environment, config.take_var_defaults());
    let settings = config.resolve(&vars)?;
    let backends = Backends::resolve(&settings, &vars)?;
    Ok((settings, backends))
}

/// Exports everything finished so far and waits for the exporters to write it, for at most
/// the shutdown timeout. Returns whether everything was written in time.
pub fn flush() -> bool {
    let Some(reporter) = reporter() else { return true };
    request(&reporter.control, |done, deadline| Control::Flush { done, deadline }, reporter.shutdown_timeout)
}

/// Asks the reporter to export everything finished so far, without waiting for it.
pub(crate) fn flush_soon() {
    if let Some(reporter) = reporter() {
        let (done, _) = mpsc::channel();
        let deadline = Instant::now() + reporter.shutdown_timeout;
        let _ = reporter.control.send(Control::Flush { done, deadline });
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
    let mut lifecycle = lifecycle();
    let Lifecycle::Running(mut services) = std::mem::replace(&mut *lifecycle, Lifecycle::Idle) else { return };
    THREADS_PROCESS.store(0, Ordering::Release);
    // One deadline for the whole shutdown, profiler and exporters together.
    let now = Instant::now();
    let deadline = now + services.shutdown_timeout;
    // The last profile covers the program up to here, spans included. It may take half the time
    // at most (symbolising a large binary's first window is slow in a debug build), so that the
    // exporters always keep the other half to deliver, or at least count, what is queued.
    if let Some(profiler) = services.profiler.take() {
        profiler.stop(now + services.shutdown_timeout / 2);
    }
    // Scrapers get no answer from here: the run's last collection goes to the pushing backends.
    services.endpoints.clear();
    // New segments become no-ops from here; ones still open are counted when they end. Log
    // records too: a bridge's check costs one load again.
    crate::state::withdraw();
    crate::integrations::logs_filter_changed();
    // So do metric recordings: the shutdown's collection, the run's last, then holds every
    // recording kept (turned off after it, a recording in between would be kept and never
    // exported).
    crate::metrics::registry::set_enabled(false);
    let (done, answer) = mpsc::channel();
    let sent = services.control.send(Control::Shutdown { done, deadline }).is_ok();
    // The reporter answers by the deadline, having counted and reported what it could not
    // deliver; only then is it safe to wait for the thread to end.
    if sent && answer.recv_timeout(deadline.saturating_duration_since(Instant::now())).is_ok() {
        let _ = services.reporter.join();
    } else {
        stderr_line!(
            "spanscope: shutdown did not finish within {:?}; spans still queued are lost",
            services.shutdown_timeout
        );
    }
}

/// Whether this process is a child forked without `exec` from one where spanscope runs.
fn is_forked_child() -> bool {
    let process = THREADS_PROCESS.load(Ordering::Acquire);
    process != 0 && process != std::process::id()
}

/// The shutdown of a child forked without `exec`: immediate, since the reporter and the
/// profiler's collector are the parent's threads, and nothing queued here can be delivered.
fn shut_down_forked_child() {
    let parent = THREADS_PROCESS.swap(0, Ordering::AcqRel);
    crate::state::withdraw();
    // Nothing collects here: recordings would only be kept.
    crate::metrics::registry::set_enabled(false);
    // A lock the parent held at the fork is never released here.
    let mut lifecycle = match LIFECYCLE.try_lock() {
        Ok(lifecycle) => Some(lifecycle),
        Err(TryLockError::Poisoned(lifecycle)) => Some(lifecycle.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    };
    if let Some(Lifecycle::Running(services)) =
        lifecycle.as_deref_mut().map(|lifecycle| std::mem::replace(lifecycle, Lifecycle::Idle))
    {
        // It names the parent's threads and channels: dropping it here could wake them.
        std::mem::forget(services);
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
/// shut spanscope down first, unless the program handles them (see `sys::exit_signal`).
#[doc(hidden)]
pub fn init_main(config: Config) -> Guard {
    let guard = try_init(config).unwrap_or_else(|error| {
        stderr_line!("error: spanscope: {error}");
        std::process::exit(1)
    });
    #[cfg(target_os = "linux")]
    if crate::state::current().is_some() {
        crate::sys::exit_signal::install(shut_down);
    }
    guard
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::*;
    use crate::config::TracesExporter;
    use crate::export::{ProfileBackend, TraceBackend};
    use crate::profiler::ProfilerConfig;

    fn resolve(config: Config, vars: &[(&str, &str)]) -> Result<(Settings, Backends), ConfigError> {
        super::resolve(config, &|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| OsString::from(v)))
    }

    #[test]
    fn backend_variables_are_read_only_for_configured_exporters() {
        let bad = [("OTEL_EXPORTER_OTLP_PROTOCOL", "thrift"), ("DD_TRACE_AGENT_PORT", "x")];
        assert!(resolve(Config::new(), &bad).is_ok(), "unused backends' variables are not read");
        let err = resolve(Config::new().exporters([TracesExporter::Local, TracesExporter::Datadog]), &bad).unwrap_err();
        assert_eq!(err.variable(), "DD_TRACE_AGENT_PORT");
        let (s, backends) = resolve(Config::new(), &[("OTEL_TRACES_EXPORTER", "otlp, skywalking,datadog")]).unwrap();
        assert_eq!(s.exporters, [TracesExporter::Otlp, TracesExporter::Skywalking, TracesExporter::Datadog]);
        assert!(matches!(
            backends.traces[..],
            [TraceBackend::Otlp(_), TraceBackend::Skywalking(_), TraceBackend::Datadog(_)]
        ));
    }

    #[test]
    fn errors_never_echo_credentials() {
        let http = ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf");
        let profiles = ("SPANSCOPE_PROFILES_EXPORTER", "pyroscope");
        for (exporter, vars) in [
            ("otlp", [("OTEL_EXPORTER_OTLP_HEADERS", "api-key=s3cr3t,broken"), http]),
            ("otlp", [("OTEL_EXPORTER_OTLP_ENDPOINT", "https://user:s3cr3t@collector:4317"), http]),
            // A wrong scheme, a URL that does not parse, no scheme at all.
            ("otlp", [("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://user:s3cr3t@collector:4317"), profiles]),
            ("otlp", [("OTEL_EXPORTER_OTLP_ENDPOINT", "http://user:s3cr3t@coll ector:4317"), profiles]),
            ("otlp", [("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "user:s3cr3t@collector:4318"), http]),
            ("otlp", [("OTEL_EXPORTER_OTLP_ENDPOINT", "http://user:s3/cr#3t,@x://@collector:4317"), http]),
            ("skywalking", [("SW_AGENT_COLLECTOR_BACKEND_SERVICES", "oap:11800,grpc://user:s3cr3t@oap:11800"), http]),
            ("datadog", [("DD_TRACE_AGENT_URL", "tcp://user:s3cr3t@agent:8126"), http]),
            ("none", [("PYROSCOPE_SERVER_ADDRESS", "ftp://user:s3cr3t@pyroscope:4040"), profiles]),
        ] {
            let env = [("OTEL_TRACES_EXPORTER", exporter), vars[0], vars[1]];
            let err = resolve(Config::new(), &env).unwrap_err();
            assert_eq!(err.variable(), vars[0].0);
            for shown in [err.to_string(), format!("{err:?}"), format!("{:?}", crate::InitError::from(err))] {
                assert!(!shown.contains("s3") && !shown.contains("cr3t") && !shown.contains("user:"), "{shown}");
            }
        }
        let err = resolve(Config::new(), &[("OTEL_TRACES_EXPORTER", "otlp,zipkin://u:pw@z")]).unwrap_err();
        let shown = err.to_string();
        assert!(shown.starts_with("invalid OTEL_TRACES_EXPORTER=\"otlp,zipkin://<redacted>@z\": expected "), "{shown}");
    }

    #[test]
    #[cfg(unix)]
    fn values_that_are_not_utf8_name_their_variable() {
        use std::os::unix::ffi::OsStringExt;
        for var in ["OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "SPANSCOPE_OUT_DIR", "OTEL_SERVICE_NAME"] {
            let environment = |name: &str| (name == var).then(|| OsString::from_vec(b"none\xff".to_vec()));
            let err = super::resolve(Config::new(), &environment).unwrap_err();
            assert_eq!(err.variable(), var, "{err}");
        }
        // A backend's variables are read only when its exporter is configured.
        let environment = |name: &str| match name {
            "OTEL_EXPORTER_OTLP_HEADERS" => Some(OsString::from_vec(b"api-key=s3cr3t\xff".to_vec())),
            _ => None,
        };
        assert!(super::resolve(Config::new(), &environment).is_ok());
        let err = super::resolve(Config::new().exporters([TracesExporter::Otlp]), &environment).unwrap_err();
        assert_eq!(err.variable(), "OTEL_EXPORTER_OTLP_HEADERS");
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
    }

    #[test]
    fn pyroscope_is_resolved_only_when_configured_and_keeps_its_credentials_to_itself() {
        let (_, backends) = resolve(Config::new(), &[]).unwrap();
        assert!(matches!(backends.profiles[..], [ProfileBackend::Files]), "resolved only when used");
        let (_, backends) = resolve(
            Config::new().profiler(ProfilerConfig::new().hz(50)),
            &[
                ("SPANSCOPE_PROFILES_EXPORTER", "pyroscope,local"),
                ("PYROSCOPE_SERVER_ADDRESS", "http://pyro.internal/base/"),
                ("PYROSCOPE_BASIC_AUTH_USER", "u"),
                ("PYROSCOPE_BASIC_AUTH_PASSWORD", "secret"),
                ("PYROSCOPE_TAGS", "env=prod, region=eu"),
                ("SPANSCOPE_PYROSCOPE_API", "ingest"),
            ],
        )
        .unwrap();
        let [ProfileBackend::Pyroscope(pyroscope), ProfileBackend::Files] = &backends.profiles[..] else {
            panic!("{:?}", backends.profiles)
        };
        assert!(!format!("{pyroscope:?}").contains("secret"), "credentials stay out of logs");
        // Pyroscope's variables matter only when its exporter is configured.
        let bad = ("PYROSCOPE_SERVER_ADDRESS", "pyro.internal:4040");
        assert!(resolve(Config::new(), &[bad]).is_ok());
        let err = resolve(Config::new(), &[bad, ("SPANSCOPE_PROFILES_EXPORTER", "pyroscope")]).unwrap_err();
        assert_eq!(err.variable(), bad.0, "{err}");
    }
}

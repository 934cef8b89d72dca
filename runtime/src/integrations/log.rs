//! The `log` bridge (feature `log`): every record of the `log` crate's macros becomes a
//! spanscope log record, exported by `OTEL_LOGS_EXPORTER`, with the trace id, span id and trace
//! flags of the spanscope span it was made in, sampled or not.
//!
//! ```no_run
//! spanscope::log::init().expect("no other logger is installed");
//! # let _guard = spanscope::init(spanscope::Config::new());
//! log::info!(order_id = 7; "order placed");
//! ```
//!
//! # What becomes what
//! - The message is the body (cut at 32,768 characters); the level the severity (`TRACE` 1,
//!   `DEBUG` 5, `INFO` 9, `WARN` 13, `ERROR` 17, with the level's name as severity text); the
//!   target the logger's name (OpenTelemetry's instrumentation scope); the file and line
//!   `code.file.path` and `code.line.number`.
//! - Key-values (`log::info!(key = value; "...")`) are attributes: integers, floats, booleans
//!   and strings keep their type, anything else is formatted with `Display`. The `#[profiled]`
//!   tags current where the record is made are attributes too.
//! - `SPANSCOPE_LOGS_FILTER` decides which records are kept, and [`init`] sets `log`'s own
//!   maximum level from it when spanscope starts, so a record below every directive costs the
//!   `log` macro's check and nothing else.
//!
//! [`Logger`] can also be handed to a logger that fans out to several (to keep `env_logger`'s
//! output beside it).

use std::borrow::Cow;

use crate::logs::{self, Level, Location, Name, Origin, Value};

/// The `log::Log` that turns records into spanscope log records (see the [module](self)).
#[derive(Debug)]
pub struct Logger {
    _private: (),
}

static LOGGER: Logger = Logger { _private: () };

/// The bridge, for fanning out to several loggers; [`init`] installs it alone.
pub fn logger() -> &'static Logger {
    &LOGGER
}

/// Installs the bridge as the `log` crate's logger. Call it once, before or after
/// [`init`](crate::init): `log`'s maximum level follows spanscope's filter from then on.
///
/// # Errors
/// When another logger is installed already.
pub fn init() -> Result<(), log::SetLoggerError> {
    log::set_logger(&LOGGER)?;
    INSTALLED.store(true, std::sync::atomic::Ordering::Relaxed);
    max_level_changed();
    Ok(())
}

static INSTALLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Sets `log`'s maximum level to the most verbose spanscope's filter passes, if [`init`]
/// installed the bridge; before spanscope starts, every level (the bridge's own check then
/// turns records away).
pub(crate) fn max_level_changed() {
    if !INSTALLED.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let max = match crate::state::logs() {
        Some(_) => crate::state::log_max_level().map_or(log::LevelFilter::Off, level_filter),
        None => log::LevelFilter::Trace,
    };
    log::set_max_level(max);
}

fn level(level: log::Level) -> Level {
    match level {
        log::Level::Error => Level::Error,
        log::Level::Warn => Level::Warn,
        log::Level::Info => Level::Info,
        log::Level::Debug => Level::Debug,
        log::Level::Trace => Level::Trace,
    }
}

fn level_filter(level: Level) -> log::LevelFilter {
    match level {
        Level::Error => log::LevelFilter::Error,
        Level::Warn => log::LevelFilter::Warn,
        Level::Info => log::LevelFilter::Info,
        Level::Debug => log::LevelFilter::Debug,
        Level::Trace => log::LevelFilter::Trace,
    }
}

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        logs::enabled(level(metadata.level()), metadata.target())
    }

    fn log(&self, record: &log::Record<'_>) {
        // The target is the module path unless the call named one: then it is borrowed only
        // for this call, and copied.
        let target = match record.module_path_static() {
            Some(module) if module == record.target() => Cow::Borrowed(module),
            _ => Cow::Owned(record.target().to_owned()),
        };
        let location = record.file_static().map(|file| Location { file: Cow::Borrowed(file), line: record.line() });
        // A call site is its file and line; `log` gives records no other identity.
        let callsite = record.file_static().map_or(0, |file| file.as_ptr() as usize)
            ^ (record.line().unwrap_or(0) as usize).wrapping_mul(0x9e37_79b9);
        let origin = Origin {
            level: level(record.level()),
            target,
            location,
            callsite,
            attributes: record.key_values().count(),
        };
        let Some(mut draft) = logs::draft(origin) else { return };
        match record.args().as_str() {
            Some(text) => draft.set_body(text),
            None => draft.write_body(|out| out.write_fmt(*record.args())),
        }
        let _ = record.key_values().visit(&mut KeyValues(&mut draft));
        draft.submit();
    }

    /// Records are exported in batches: [`flush`](crate::flush) delivers them.
    fn flush(&self) {}
}

/// Adds each key-value of a record to its draft.
struct KeyValues<'a>(&'a mut logs::Draft);

impl<'kvs> log::kv::VisitSource<'kvs> for KeyValues<'_> {
    fn visit_pair(&mut self, key: log::kv::Key<'kvs>, value: log::kv::Value<'kvs>) -> Result<(), log::kv::Error> {
        let name = Name::Copied(key.as_str());
        let typed = value
            .to_borrowed_str()
            .map(Value::Str)
            .or_else(|| value.to_i64().map(Value::I64))
            .or_else(|| value.to_u64().map(Value::U64))
            .or_else(|| value.to_f64().map(Value::F64))
            .or_else(|| value.to_bool().map(Value::Bool));
        match typed {
            Some(value) => self.0.attribute(name, value),
            None => self.0.formatted_attribute(name, |out| write!(out, "{value}")),
        }
        Ok(())
    }
}

//! The process's resources, by OpenTelemetry's process conventions (semantic conventions 1.44):
//! `process.cpu.time` (`cpu.mode` = `user` / `system`), `process.memory.usage`,
//! `process.memory.virtual`, `process.thread.count`, `process.unix.file_descriptor.count`. Read
//! at each collection from `getrusage` and `/proc/self` (Linux only).
//! A figure that cannot be read is left out of that collection.

use super::{observables, NoAttributes};
use crate::metrics::{AttrRef, AttrValue, AttributeSchema, AttributeSet, Observer};
use crate::tag::TagMeta;

static CPU_MODE: TagMeta = TagMeta::new("cpu_mode", "cpu.mode");

/// `cpu.mode`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuMode(&'static str);

impl AttributeSet for CpuMode {
    const KEYS: &'static [fn() -> &'static TagMeta] = &[|| &CPU_MODE];
    fn visit(&self, mut f: impl FnMut(AttrRef<'_>)) {
        f(self.0.attr_ref());
    }
}

impl AttributeSchema for CpuMode {
    type Attributes<'a> = CpuMode;
}

observables! {
    CPU_TIME: f64, CpuMode = "process.cpu.time" { ObservableCounter, "s", "Total CPU seconds broken down by different CPU modes.", cpu_time };
    MEMORY_USAGE: i64, NoAttributes = "process.memory.usage" { ObservableUpDownCounter, "By", "The amount of physical memory in use.", memory_usage };
    MEMORY_VIRTUAL: i64, NoAttributes = "process.memory.virtual" { ObservableUpDownCounter, "By", "The amount of committed virtual memory.", memory_virtual };
    THREAD_COUNT: i64, NoAttributes = "process.thread.count" { ObservableUpDownCounter, "{thread}", "Process threads count.", thread_count };
    FILE_DESCRIPTORS: i64, NoAttributes = "process.unix.file_descriptor.count" { ObservableUpDownCounter, "{file_descriptor}", "Number of unix file descriptors in use by the process.", file_descriptors };
}

fn cpu_time(observer: &mut Observer<'_, f64, CpuMode>) {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: `getrusage` writes a whole `rusage` into the pointer on success.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } != 0 {
        return;
    }
    // SAFETY: initialised by the successful call above.
    let usage = unsafe { usage.assume_init() };
    let seconds = |time: libc::timeval| time.tv_sec as f64 + time.tv_usec as f64 * 1e-6;
    observer.record(seconds(usage.ru_utime), CpuMode("user"));
    observer.record(seconds(usage.ru_stime), CpuMode("system"));
}

/// The process's `(virtual, resident)` bytes, from `/proc/self/statm` (in pages).
fn statm() -> Option<(i64, i64)> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let mut fields = statm.split_ascii_whitespace().map(|field| field.parse::<i64>().ok());
    // SAFETY: `sysconf` has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as i64;
    Some((fields.next()?? * page, fields.next()?? * page))
}

fn memory_usage(observer: &mut Observer<'_, i64, NoAttributes>) {
    if let Some((_, resident)) = statm() {
        observer.record(resident, NoAttributes);
    }
}

fn memory_virtual(observer: &mut Observer<'_, i64, NoAttributes>) {
    if let Some((size, _)) = statm() {
        observer.record(size, NoAttributes);
    }
}

fn thread_count(observer: &mut Observer<'_, i64, NoAttributes>) {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else { return };
    let threads = status.lines().find_map(|line| line.strip_prefix("Threads:")).and_then(|n| n.trim().parse().ok());
    if let Some(threads) = threads {
        observer.record(threads, NoAttributes);
    }
}

fn file_descriptors(observer: &mut Observer<'_, i64, NoAttributes>) {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else { return };
    // The listing holds a descriptor of its own, which is not the program's.
    let open = entries.count() as i64 - 1;
    observer.record(open, NoAttributes);
}

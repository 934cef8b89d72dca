//! Shared harness of the end-to-end tests: start spanscope once per test binary with the local
//! exporter writing to a fresh folder, and read back what it wrote (with `spanscope-readback`,
//! re-exported here).

pub mod collector;
pub mod hostile;
pub mod profiles;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use spanscope_readback::{fresh_dir, read_spans, ExportedSpan, SpanSet, CLIENT, INTERNAL, SERVER};

/// The folder this test binary's spans go to, with spanscope initialised on first call.
pub fn setup() -> &'static Path {
    setup_with(|c| c)
}

/// Like [`setup`], with the config adjusted by the first caller.
pub fn setup_with(adjust: impl FnOnce(spanscope::Config) -> spanscope::Config) -> &'static Path {
    static STATE: OnceLock<(PathBuf, spanscope::Guard)> = OnceLock::new();
    let (dir, _) = STATE.get_or_init(|| {
        let dir = fresh_dir("spans");
        let config = adjust(spanscope::Config::new().service_name("tests").out_dir(&dir));
        (dir, spanscope::init(config))
    });
    dir
}

/// Like [`setup`], propagating W3C's formats and SkyWalking's `sw8` (not in the default set),
/// for tests whose callers send `sw8`.
pub fn setup_with_sw8() -> &'static Path {
    use spanscope::Propagator::{Baggage, Sw8, TraceContext};
    setup_with(|config| config.propagators([TraceContext, Baggage, Sw8]))
}

/// Flushes, then reads every span written to `dir/traces.jsonl`.
pub fn exported(dir: &Path) -> Vec<ExportedSpan> {
    assert!(spanscope::flush(), "flush timed out");
    read_spans(&dir.join("traces.jsonl"))
}

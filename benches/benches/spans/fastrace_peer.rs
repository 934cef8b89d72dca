//! fastrace 0.7 (feature `enable`): `#[fastrace::trace]` on a sync fn, i.e. a `LocalSpan`,
//! under a sampled `Span::root` set as the local parent; the reporter discards every batch.

use std::hint::black_box;

use fastrace::collector::{Config, Reporter, SpanContext};
use fastrace::prelude::{Span, SpanRecord};

/// A reporter that drops what it is given (it runs on fastrace's collector thread).
struct DiscardReporter;

impl Reporter for DiscardReporter {
    fn report(&mut self, spans: Vec<SpanRecord>) {
        drop(black_box(spans));
    }
}

#[fastrace::trace(short_name = true)]
#[inline(never)]
fn child(input: u64) -> u64 {
    black_box(input)
}

/// fastrace with a discarding global reporter.
#[derive(Debug)]
pub struct Fastrace;

impl Fastrace {
    /// Installs the discarding reporter. fastrace allows setting it again, so this may run once per group.
    pub fn setup() -> Self {
        fastrace::set_reporter(DiscardReporter, Config::default());
        Self
    }
}

impl Drop for Fastrace {
    fn drop(&mut self) {
        fastrace::flush();
    }
}

impl super::shape::Peer for Fastrace {
    type Root = ();

    fn in_root(&self, body: impl FnOnce(&mut ())) {
        let root = Span::root("root", SpanContext::random());
        let _parent = root.set_local_parent();
        body(&mut ());
    }

    fn child(&self, _root: &mut (), input: u64) -> u64 {
        child(input)
    }
}

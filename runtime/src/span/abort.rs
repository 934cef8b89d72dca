//! The segments a panic that aborts the process would lose.
//!
//! With unwinding, a panic ends each span it unwinds through as failed, and each segment's
//! owner hands it over as it is dropped. An abort unwinds nothing: the segments installed on
//! the panicking thread (the task or frames that were running, see
//! [`installed_segments`](super::current::installed_segments)) would vanish with the entry
//! span, the children that already finished and the span that panicked. [`submit_installed`]
//! hands copies of them to the exporters instead, as the unwinding would have left them.

use super::current::{installed_segments, panic_tick};
use super::{ErrorInfo, Segment};

/// What [`submit_installed`] handed over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Submitted {
    pub segments: usize,
    /// Spans in those segments, the ones that had ended included.
    pub spans: usize,
    /// Spans that were open and were ended failed with the error.
    pub ended: usize,
}

/// Submits a copy of each sampled segment installed on this thread, with every span still
/// open ended failed by the panic this thread is in: at the panic, with its message logged.
/// Only for a thread that ends with the process: the originals stay installed and are never
/// handed over.
pub(crate) fn submit_installed() -> Submitted {
    let mut submitted = Submitted::default();
    let error = ErrorInfo::panic();
    // Without a panic seen by spanscope's hook on this thread (a hook installed after it that
    // does not call it), the spans end now.
    let tick = panic_tick().unwrap_or_else(crate::clock::now);
    for segment in installed_segments() {
        // SAFETY: an installed segment is alive, and nothing borrows it mutably while its
        // thread panics, in the panic hook or in the abort after it (see `installed_segments`);
        // it is only read, to be copied.
        let segment = unsafe { &*segment };
        if !segment.sampled {
            continue;
        }
        let mut copy = Box::new(Segment::clone(segment));
        for index in 0..copy.spans.len() as u32 {
            let span = &copy.spans[index as usize];
            if span.end == 0 {
                let end = tick.max(span.start);
                copy.end_span(index, end, Some(error.clone()));
                submitted.ended += 1;
            }
        }
        submitted.segments += 1;
        submitted.spans += copy.spans.len();
        super::outbox::submit(copy);
    }
    submitted
}

//! A lane: one exporter's delivery loop on the reporter's runtime, with its backlog.
//!
//! The reporter pushes every batch into every lane. A lane encodes its oldest batch once,
//! sends it, and on a retryable failure sends the same payload again after a capped,
//! jittered exponential backoff. While its backend answers, a lane with a full backlog makes
//! the reporter wait (so the bounded queue in front of it is where spans drop, counted as
//! queue-full); while its backend is failing, it drops its oldest batches beyond the backlog
//! bound instead, counted as backend-down, so one dead backend never holds the others back.
//! Each outage, rejection kind and authentication failure is logged once, not per attempt.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::{Batch, ExportError, Exporter, Sent};
use crate::stats::{self, Counter};

/// Starts an exporter's lane; called on the reporter thread, inside its runtime.
pub(crate) type Launch = Box<dyn FnOnce(&LaneLimits, &Rc<Notify>) -> Rc<Lane> + Send>;

/// A lane for the exporter `make` builds (on the reporter thread, where clients can spawn
/// their connection tasks).
pub(crate) fn launch<E: Exporter>(make: impl FnOnce() -> E + Send + 'static) -> Launch {
    Box::new(move |limits, progress| {
        let exporter = make();
        let lane = Rc::new(Lane {
            name: exporter.name().to_owned(),
            limits: *limits,
            state: RefCell::new(State { healthy: true, ..State::default() }),
            work: Notify::new(),
            progress: Rc::clone(progress),
        });
        tokio::task::spawn_local(run(Rc::clone(&lane), exporter));
        lane
    })
}

/// Bounds shared by every lane.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LaneLimits {
    /// Spans a lane keeps (waiting and in flight) while its backend is failing.
    pub backlog: u64,
    /// The longest pause between attempts.
    pub max_backoff: Duration,
}

/// The reporter's view of a lane.
#[derive(Debug)]
pub(crate) struct Lane {
    name: String,
    limits: LaneLimits,
    state: RefCell<State>,
    /// Wakes the lane: a batch, a flush or the shutdown.
    work: Notify,
    /// Wakes the reporter: an attempt finished, a flush was done, the lane stopped.
    progress: Rc<Notify>,
}

#[derive(Debug, Default)]
struct State {
    backlog: VecDeque<Arc<Batch>>,
    /// Spans waiting in `backlog` or being sent.
    spans: u64,
    /// Whether the last attempt reached the backend (true until one fails).
    healthy: bool,
    flush_wanted: u64,
    flushed: u64,
    closing: bool,
    stopped: bool,
    last_error: Option<String>,
}

impl Lane {
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Whether the lane takes `spans` more now without the reporter waiting.
    pub(crate) fn has_room(&self, spans: u64) -> bool {
        let state = self.state.borrow();
        !state.healthy || state.spans == 0 || state.spans + spans <= self.limits.backlog
    }

    /// Queues a batch.
    pub(crate) fn push(&self, batch: Arc<Batch>) {
        let mut state = self.state.borrow_mut();
        state.spans += batch.spans;
        state.backlog.push_back(batch);
        if !state.healthy {
            self.evict(&mut state);
        }
        drop(state);
        self.work.notify_one();
    }

    /// Asks the lane to flush its exporter once everything queued now is delivered or dropped;
    /// returns the ticket to wait for with [`flushed`](Self::flushed).
    pub(crate) fn request_flush(&self) -> u64 {
        let mut state = self.state.borrow_mut();
        state.flush_wanted += 1;
        let ticket = state.flush_wanted;
        drop(state);
        self.work.notify_one();
        ticket
    }

    pub(crate) fn flushed(&self, ticket: u64) -> bool {
        self.state.borrow().flushed >= ticket
    }

    /// Asks the lane to stop once everything queued is delivered or dropped.
    pub(crate) fn close(&self) {
        self.state.borrow_mut().closing = true;
        self.work.notify_one();
    }

    pub(crate) fn stopped(&self) -> bool {
        self.state.borrow().stopped
    }

    /// Spans queued or in flight, and the last error, if the backend is failing.
    pub(crate) fn undelivered(&self) -> (u64, Option<String>) {
        let state = self.state.borrow();
        (state.spans, state.last_error.clone())
    }

    /// Drops the oldest waiting batches while over the backlog bound.
    fn evict(&self, state: &mut State) {
        while state.spans > self.limits.backlog {
            let Some(oldest) = state.backlog.pop_front() else { break };
            state.spans -= oldest.spans;
            stats::add(Counter::SpansDroppedBackendDown, oldest.spans);
        }
    }

    /// Records the end of an attempt on `batch` (delivered or dropped: no longer queued).
    fn finish(&self, batch: &Batch) {
        self.state.borrow_mut().spans -= batch.spans;
    }

    /// Marks the backend failing; returns whether it was healthy until now.
    fn fail(&self, reason: String) -> bool {
        let mut state = self.state.borrow_mut();
        let was_healthy = std::mem::replace(&mut state.healthy, false);
        state.last_error = Some(reason);
        self.evict(&mut state);
        was_healthy
    }

    /// Marks the backend answering; returns whether it was failing until now.
    fn recover(&self) -> bool {
        let mut state = self.state.borrow_mut();
        state.last_error = None;
        !std::mem::replace(&mut state.healthy, true)
    }

    /// With nothing to send: flushes or stops the exporter if asked to. Returns whether the lane
    /// is done.
    fn idle<E: Exporter>(&self, exporter: &mut E) -> bool {
        let (flush, close) = {
            let state = self.state.borrow();
            (state.flushed < state.flush_wanted, state.closing)
        };
        if flush {
            exporter.flush();
            let mut state = self.state.borrow_mut();
            state.flushed = state.flush_wanted;
        }
        if close {
            exporter.shutdown();
            self.state.borrow_mut().stopped = true;
        }
        if flush || close {
            self.progress.notify_one();
        }
        close
    }
}

/// What a lane has already said, so each problem is logged once.
#[derive(Debug, Default)]
struct Reported {
    rejected: bool,
    unauthorized: bool,
    io: bool,
}

async fn run<E: Exporter>(lane: Rc<Lane>, mut exporter: E) {
    let mut current: Option<(Arc<Batch>, E::Payload)> = None;
    let mut failures: u32 = 0;
    let mut reported = Reported::default();
    loop {
        if current.is_none() {
            let next = lane.state.borrow_mut().backlog.pop_front();
            match next {
                Some(batch) => {
                    let payload = exporter.encode(&batch);
                    current = Some((batch, payload));
                }
                None => {
                    if lane.idle(&mut exporter) {
                        return;
                    }
                    lane.work.notified().await;
                    continue;
                }
            }
        }
        let Some((batch, payload)) = &current else { continue };
        let timeout = exporter.timeout();
        let outcome = match tokio::time::timeout(timeout, exporter.send(payload)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(ExportError::retryable(format!("no answer within {timeout:?}"))),
        };
        let mut pause = None;
        match outcome {
            Ok(Sent { rejected }) => {
                let rejected = rejected.min(batch.spans);
                if rejected > 0 && !std::mem::replace(&mut reported.rejected, true) {
                    eprintln!(
                        "spanscope: {}: the backend accepted a batch but rejected {rejected} of its {} spans (further rejections are only counted, in stats().spans_dropped_rejected)",
                        lane.name, batch.spans
                    );
                }
                stats::add(Counter::SpansExported, batch.spans - rejected);
                stats::add(Counter::SegmentsExported, batch.segments.len() as u64);
                stats::add(Counter::SpansDroppedRejected, rejected);
                failures = 0;
                if lane.recover() {
                    eprintln!("spanscope: {}: delivering again", lane.name);
                }
                lane.finish(batch);
                current = None;
            }
            Err(ExportError::Retryable { reason, after }) => {
                failures = failures.saturating_add(1);
                stats::add(Counter::SpansRetried, batch.spans);
                if lane.fail(reason.clone()) {
                    eprintln!(
                        "spanscope: {}: {reason}; retrying with backoff up to {:?}, keeping the newest {} spans meanwhile",
                        lane.name, lane.limits.max_backoff, lane.limits.backlog
                    );
                }
                let backoff = backoff(failures, lane.limits.max_backoff);
                // The backend's own advice is followed, within reason.
                let ceiling = lane.limits.max_backoff.max(Duration::from_secs(60));
                pause = Some(after.map_or(backoff, |after| after.max(backoff)).min(ceiling));
            }
            Err(ExportError::Rejected(reason)) => {
                stats::add(Counter::SpansDroppedRejected, batch.spans);
                if !std::mem::replace(&mut reported.rejected, true) {
                    eprintln!(
                        "spanscope: {}: a batch of {} spans was rejected: {reason} (further rejections are only counted, in stats().spans_dropped_rejected)",
                        lane.name, batch.spans
                    );
                }
                lane.finish(batch);
                current = None;
            }
            Err(ExportError::Unauthorized(reason)) => {
                stats::add(Counter::SpansDroppedRejected, batch.spans);
                if !std::mem::replace(&mut reported.unauthorized, true) {
                    eprintln!(
                        "spanscope: {}: the backend refused our credentials ({reason}); spans are dropped and counted in stats().spans_dropped_rejected, and one attempt is made every {:?} until it accepts them",
                        lane.name, lane.limits.max_backoff
                    );
                }
                lane.fail(reason);
                lane.finish(batch);
                current = None;
                pause = Some(lane.limits.max_backoff);
            }
            Err(ExportError::Io(error)) => {
                stats::add(Counter::SpansDroppedExportError, batch.spans);
                if !std::mem::replace(&mut reported.io, true) {
                    eprintln!("spanscope: {}: failed to write {} spans: {error}", lane.name, batch.spans);
                }
                lane.finish(batch);
                current = None;
            }
        }
        lane.progress.notify_one();
        if let Some(pause) = pause {
            tokio::time::sleep(pause).await;
        }
    }
}

/// Exponential from 100 ms, capped, with "equal jitter" (half fixed, half random) so that many
/// processes losing one backend do not come back in step.
fn backoff(failures: u32, max: Duration) -> Duration {
    let exponential = Duration::from_millis(100).saturating_mul(1 << failures.saturating_sub(1).min(16));
    let capped = exponential.min(max);
    let half = capped / 2;
    let random = crate::id::random_u64() % (half.as_micros() as u64 + 1);
    half + Duration::from_micros(random)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let max = Duration::from_secs(5);
        for failures in 1..40 {
            let delay = backoff(failures, max);
            let ceiling = Duration::from_millis(100).saturating_mul(1 << (failures - 1).min(16)).min(max);
            assert!(delay >= ceiling / 2 && delay <= ceiling, "{failures}: {delay:?}");
        }
    }
}

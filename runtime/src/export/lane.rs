//! A lane: one exporter's delivery loop on the reporter's runtime, with its backlog.
//!
//! The reporter pushes every load (a span batch, or a profile) into every lane of its kind. A
//! lane encodes its oldest load once, sends it, and on a retryable failure sends the same
//! payload again after a capped, jittered exponential backoff. With backpressure (span lanes),
//! while its backend answers, a lane with a full backlog makes the reporter wait (so the bounded
//! queue in front of it is where spans drop, counted as queue-full); while its backend is
//! failing, it drops its oldest loads beyond the backlog bound instead, counted as
//! backend-down, so one dead backend never holds the others back. Without backpressure
//! (profile lanes: the profiler's collector must never wait), the oldest loads beyond the bound
//! are dropped as backend-down whether the backend is failing or merely too slow to keep up.
//! Each outage, rejection kind and authentication failure is logged once, not per attempt.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::{ExportError, Exporter, Load, Sent};
use crate::stats;

/// Starts an exporter's lane; called on the reporter thread, inside its runtime.
pub(crate) type Launch<L> = Box<dyn FnOnce(&LaneLimits, &Rc<Notify>) -> Rc<Lane<L>> + Send>;

/// A lane for the exporter `make` builds (on the reporter thread, where clients can spawn
/// their connection tasks).
pub(crate) fn launch<E: Exporter>(make: impl FnOnce() -> E + Send + 'static) -> Launch<E::Load> {
    Box::new(move |limits, progress| {
        let exporter = make();
        let lane = Rc::new(Lane {
            name: exporter.name().to_owned(),
            limits: *limits,
            state: RefCell::new(State {
                backlog: VecDeque::new(),
                units: 0,
                healthy: true,
                flush_wanted: 0,
                flushed: 0,
                closing: false,
                stopped: false,
                last_error: None,
            }),
            work: Notify::new(),
            progress: Rc::clone(progress),
        });
        tokio::task::spawn_local(run(Rc::clone(&lane), exporter));
        lane
    })
}

/// Bounds shared by the lanes of one kind.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LaneLimits {
    /// Units a lane keeps (waiting and in flight) while its backend is failing.
    pub backlog: u64,
    /// The longest pause between attempts.
    pub max_backoff: Duration,
    /// Whether the sender waits for room while the backend answers (see the module docs).
    pub backpressure: bool,
}

/// The reporter's view of a lane.
#[derive(Debug)]
pub(crate) struct Lane<L> {
    name: String,
    limits: LaneLimits,
    state: RefCell<State<L>>,
    /// Wakes the lane: a load, a flush or the shutdown.
    work: Notify,
    /// Wakes the reporter: an attempt finished, a flush was done, the lane stopped.
    progress: Rc<Notify>,
}

#[derive(Debug)]
struct State<L> {
    backlog: VecDeque<Arc<L>>,
    /// Units waiting in `backlog` or being sent.
    units: u64,
    /// Whether the last attempt reached the backend (true until one fails).
    healthy: bool,
    flush_wanted: u64,
    flushed: u64,
    closing: bool,
    stopped: bool,
    last_error: Option<String>,
}

/// What the reporter asks of every lane, whatever it carries.
pub(crate) trait LaneControl {
    /// Asks the lane to flush its exporter once everything queued now is delivered or dropped;
    /// returns the ticket to wait for with [`flushed`](Self::flushed).
    fn request_flush(&self) -> u64;

    fn flushed(&self, ticket: u64) -> bool;

    /// Asks the lane to stop once everything queued is delivered or dropped.
    fn close(&self);

    fn stopped(&self) -> bool;

    /// Counts what is still queued or in flight as dropped at shutdown, and says so.
    fn give_up(&self);
}

impl<L: Load> Lane<L> {
    /// Whether the lane takes `units` more now without the reporter waiting.
    pub(crate) fn has_room(&self, units: u64) -> bool {
        let state = self.state.borrow();
        !state.healthy || state.units == 0 || state.units + units <= self.limits.backlog
    }

    /// Queues a load.
    pub(crate) fn push(&self, load: Arc<L>) {
        let mut state = self.state.borrow_mut();
        state.units += load.units();
        state.backlog.push_back(load);
        if !state.healthy || !self.limits.backpressure {
            self.evict(&mut state);
        }
        drop(state);
        self.work.notify_one();
    }

    /// Drops the oldest waiting loads while over the backlog bound.
    fn evict(&self, state: &mut State<L>) {
        while state.units > self.limits.backlog {
            let Some(oldest) = state.backlog.pop_front() else { break };
            state.units -= oldest.units();
            stats::add(L::TALLY.dropped_backend_down, oldest.units());
        }
    }

    /// Records the end of an attempt on `load` (delivered or dropped: no longer queued).
    fn finish(&self, load: &L) {
        self.state.borrow_mut().units -= load.units();
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
    fn idle<E: Exporter<Load = L>>(&self, exporter: &mut E) -> bool {
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

impl<L: Load> LaneControl for Lane<L> {
    fn request_flush(&self) -> u64 {
        let mut state = self.state.borrow_mut();
        state.flush_wanted += 1;
        let ticket = state.flush_wanted;
        drop(state);
        self.work.notify_one();
        ticket
    }

    fn flushed(&self, ticket: u64) -> bool {
        self.state.borrow().flushed >= ticket
    }

    fn close(&self) {
        self.state.borrow_mut().closing = true;
        self.work.notify_one();
    }

    fn stopped(&self) -> bool {
        self.state.borrow().stopped
    }

    fn give_up(&self) {
        let state = self.state.borrow();
        let noun = L::TALLY.noun;
        stats::add(L::TALLY.dropped_shutdown, state.units);
        let why = state.last_error.as_ref().map_or_else(|| "still sending".to_owned(), |e| format!("last error: {e}"));
        stderr_line!(
            "spanscope: {}: {} {noun} not delivered by the shutdown deadline (SPANSCOPE_SHUTDOWN_TIMEOUT; {why})",
            self.name,
            state.units
        );
    }
}

/// What a lane has already said, so each problem is logged once.
#[derive(Debug, Default)]
struct Reported {
    rejected: bool,
    unauthorized: bool,
    io: bool,
}

async fn run<E: Exporter>(lane: Rc<Lane<E::Load>>, mut exporter: E) {
    let tally = &<E::Load as Load>::TALLY;
    let noun = tally.noun;
    let mut current: Option<(Arc<E::Load>, E::Payload)> = None;
    let mut failures: u32 = 0;
    let mut reported = Reported::default();
    loop {
        if current.is_none() {
            let next = lane.state.borrow_mut().backlog.pop_front();
            match next {
                Some(load) => {
                    let payload = exporter.encode(&load);
                    current = Some((load, payload));
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
        let Some((load, payload)) = &current else { continue };
        let units = load.units();
        let timeout = exporter.timeout();
        let outcome = match tokio::time::timeout(timeout, exporter.send(payload)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(ExportError::retryable(format!("no answer within {timeout:?}"))),
        };
        let mut pause = None;
        match outcome {
            Ok(Sent { rejected }) => {
                let rejected = rejected.min(units);
                if rejected > 0 && !std::mem::replace(&mut reported.rejected, true) {
                    stderr_line!(
                        "spanscope: {}: the backend accepted a request but rejected {rejected} of its {units} {noun} (further rejections are only counted, in stats().{noun}_dropped_rejected)",
                        lane.name
                    );
                }
                stats::add(tally.exported, units - rejected);
                stats::add(tally.dropped_rejected, rejected);
                load.count_delivered();
                failures = 0;
                if lane.recover() {
                    stderr_line!("spanscope: {}: delivering again", lane.name);
                }
                lane.finish(load);
                current = None;
            }
            Err(ExportError::Retryable { reason, after }) => {
                failures = failures.saturating_add(1);
                stats::add(tally.retried, units);
                if lane.fail(reason.clone()) {
                    stderr_line!(
                        "spanscope: {}: {reason}; retrying with backoff up to {:?}, keeping the newest {} {noun} meanwhile",
                        lane.name, lane.limits.max_backoff, lane.limits.backlog
                    );
                }
                let backoff = backoff(failures, lane.limits.max_backoff);
                // The backend's own advice is followed, within reason.
                let ceiling = lane.limits.max_backoff.max(Duration::from_secs(60));
                pause = Some(after.map_or(backoff, |after| after.max(backoff)).min(ceiling));
            }
            Err(ExportError::Rejected(reason)) => {
                stats::add(tally.dropped_rejected, units);
                if !std::mem::replace(&mut reported.rejected, true) {
                    stderr_line!(
                        "spanscope: {}: a request of {units} {noun} was rejected: {reason} (further rejections are only counted, in stats().{noun}_dropped_rejected)",
                        lane.name
                    );
                }
                lane.finish(load);
                current = None;
            }
            Err(ExportError::Unauthorized(reason)) => {
                stats::add(tally.dropped_rejected, units);
                if !std::mem::replace(&mut reported.unauthorized, true) {
                    stderr_line!(
                        "spanscope: {}: the backend refused our credentials ({reason}); {noun} are dropped and counted in stats().{noun}_dropped_rejected, and one attempt is made every {:?} until it accepts them",
                        lane.name, lane.limits.max_backoff
                    );
                }
                lane.fail(reason);
                lane.finish(load);
                current = None;
                pause = Some(lane.limits.max_backoff);
            }
            Err(ExportError::Io(error)) => {
                stats::add(tally.dropped_export_error, units);
                if !std::mem::replace(&mut reported.io, true) {
                    stderr_line!("spanscope: {}: failed to write {units} {noun}: {error}", lane.name);
                }
                lane.finish(load);
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

//! A lane: one exporter's delivery loop on the reporter's runtime, with its backlog.
//!
//! The reporter pushes every load (a span batch, or a profile) into every lane of its kind. A
//! lane encodes its oldest load once, sends it, and on a retryable failure sends the same
//! payload again after a capped, jittered exponential backoff. A lane holds at most its backlog
//! bound (and always its newest load, whatever its size): pushed beyond it, it drops its own
//! oldest waiting loads, counted as its own backend-down drops. Lanes never wait for each other:
//! the reporter hands a span batch over as soon as one span lane whose backend answers has room
//! (see `pipeline`), so a lane whose backend is slow, down, or accepts connections and never
//! answers loses only its own spans, while the others take every one at the rate they can.
//! Profile lanes are pushed without waiting at all (the profiler's collector must never wait).
//!
//! A flush is done once every load pushed before it was delivered or dropped: a busy lane
//! answers it while newer loads keep coming, and a lane with nothing in hand answers it at once,
//! even in the middle of a backoff or credential pause; so does the shutdown.
//!
//! A panic in the exporter's code is caught here, at the lane's boundary, the one place every
//! call into the exporter passes: the load in hand is dropped (it may be what made it panic) and
//! counted as an export error, the panic is reported once, and the lane goes on with the same
//! exporter after a backoff pause. (Built with `panic = "abort"`, a panic ends the process
//! before anything can catch it.) Each outage, rejection kind, authentication failure and panic
//! is logged once, not per attempt.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use tokio::sync::Notify;

use crate::export::{ExportError, Exporter, Load, Sent};
use crate::stats::{ExporterCounters, Outcome};

/// Starts an exporter's lane; called on the reporter thread, inside its runtime.
pub(crate) type Launch<L> = Box<dyn FnOnce(&LaneLimits, &Rc<Notify>) -> Rc<Lane<L>> + Send>;

/// A lane for the exporter `make` builds (on the reporter thread, where clients can spawn
/// their connection tasks).
pub(crate) fn launch<E: Exporter>(make: impl FnOnce() -> E + Send + 'static) -> Launch<E::Load> {
    Box::new(move |limits, progress| {
        let exporter = make();
        let lane = Rc::new(Lane::new(exporter.name(), *limits, Rc::clone(progress)));
        tokio::task::spawn_local(supervise(Rc::clone(&lane), exporter));
        lane
    })
}

/// Bounds shared by the lanes of one kind.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LaneLimits {
    /// Units a lane holds (waiting and in hand); beyond, it drops its oldest waiting loads.
    pub backlog: u64,
    /// The longest pause between attempts.
    pub max_backoff: Duration,
}

/// The reporter's view of a lane.
#[derive(Debug)]
pub(crate) struct Lane<L> {
    name: String,
    limits: LaneLimits,
    /// What the lane delivered and dropped, as `stats()` lists it.
    counters: Arc<ExporterCounters>,
    state: RefCell<LaneState<L>>,
    /// Wakes the lane: a load, a flush or the shutdown.
    work: Notify,
    /// Wakes the reporter: an attempt finished, a flush was done, the lane stopped.
    progress: Rc<Notify>,
}

/// A load, and its place in the order loads were pushed.
type Placed<L> = (u64, Arc<L>);

#[derive(Debug)]
/// A lane's loads and how its backend has answered lately.
struct LaneState<L> {
    /// Loads waiting, oldest first.
    waiting: VecDeque<Placed<L>>,
    /// The load being encoded, sent or retried.
    in_hand: Option<Placed<L>>,
    /// Units waiting and in hand.
    units: u64,
    /// Loads pushed so far: the place of the next one.
    pushed: u64,
    /// Whether the last attempt failed to reach the backend.
    failing: bool,
    /// Attempts failed in a row, panics included: what the next backoff is.
    failures: u32,
    /// The latest flush asked for: done once every load placed before it is done, and the
    /// exporter flushed.
    flush_wanted: u64,
    /// Every load placed before this is done, and the exporter was flushed since.
    flushed: u64,
    closing: bool,
    stopped: bool,
    last_error: Option<String>,
}

/// What the reporter asks of every lane, whatever it carries.
pub(crate) trait LaneControl {
    /// Asks the lane to flush its exporter once everything pushed so far is delivered or
    /// dropped; returns the ticket to wait for with [`flushed`](Self::flushed).
    fn request_flush(&self) -> u64;

    fn flushed(&self, ticket: u64) -> bool;

    /// Asks the lane to stop once everything pushed is delivered or dropped.
    fn close(&self);

    fn stopped(&self) -> bool;

    /// Counts what is still waiting or in hand as dropped at shutdown, and says so.
    fn give_up(&self);

    /// The counters `stats()` lists for this lane's exporter.
    fn counters(&self) -> &Arc<ExporterCounters>;
}

impl<L: Load> Lane<L> {
    fn new(name: &str, limits: LaneLimits, progress: Rc<Notify>) -> Self {
        Self {
            name: name.to_owned(),
            limits,
            counters: ExporterCounters::new(name, L::SIGNAL),
            state: RefCell::new(LaneState {
                waiting: VecDeque::new(),
                in_hand: None,
                units: 0,
                pushed: 0,
                failing: false,
                failures: 0,
                flush_wanted: 0,
                flushed: 0,
                closing: false,
                stopped: false,
                last_error: None,
            }),
            work: Notify::new(),
            progress,
        }
    }

    /// Whether the lane takes `units` more now without dropping any it holds.
    pub(crate) fn has_room(&self, units: u64) -> bool {
        let state = self.state.borrow();
        state.units == 0 || state.units + units <= self.limits.backlog
    }

    /// Whether the backend answers: its last attempt reached it, or none has failed yet. A
    /// failing lane keeps its newest loads, and nobody waits for it to have room.
    pub(crate) fn answering(&self) -> bool {
        !self.state.borrow().failing
    }

    /// Queues a load, dropping the oldest waiting ones beyond the backlog bound; a load that
    /// supersedes older ones replaces those waiting.
    pub(crate) fn push(&self, load: Arc<L>) {
        let mut state = self.state.borrow_mut();
        if L::SUPERSEDED_BY_NEWER {
            for (_, older) in std::mem::take(&mut state.waiting) {
                state.units -= older.units();
                older.count_superseded();
            }
        }
        let place = state.pushed;
        state.pushed += 1;
        state.units += load.units();
        state.waiting.push_back((place, load));
        // The newest load stays whatever its size: a batch larger than the whole backlog is
        // still sent.
        while state.units > self.limits.backlog && state.waiting.len() > 1 {
            let Some((_, oldest)) = state.waiting.pop_front() else { break };
            state.units -= oldest.units();
            self.counters.add(Outcome::DroppedBackendDown, oldest.units());
        }
        drop(state);
        self.work.notify_one();
    }

    /// Takes the oldest waiting load in hand.
    fn take(&self) -> Option<Arc<L>> {
        let mut state = self.state.borrow_mut();
        let (place, load) = state.waiting.pop_front()?;
        state.in_hand = Some((place, Arc::clone(&load)));
        Some(load)
    }

    /// Lets the load in hand go, delivered or dropped; returns its units.
    fn release(&self) -> u64 {
        let mut state = self.state.borrow_mut();
        let units = state.in_hand.take().map_or(0, |(_, load)| load.units());
        state.units -= units;
        units
    }

    /// Marks the backend failing; returns whether it was answering until now.
    fn fail(&self, reason: String) -> bool {
        let mut state = self.state.borrow_mut();
        state.last_error = Some(reason);
        !std::mem::replace(&mut state.failing, true)
    }

    /// Counts a failed attempt (or a panic); returns how many failed in a row.
    fn count_failure(&self) -> u32 {
        let mut state = self.state.borrow_mut();
        state.failures = state.failures.saturating_add(1);
        state.failures
    }

    /// Marks the backend answering; returns whether it was failing until now.
    fn recover(&self) -> bool {
        let mut state = self.state.borrow_mut();
        state.last_error = None;
        state.failures = 0;
        std::mem::replace(&mut state.failing, false)
    }

    /// With no load in hand: flushes the exporter if a flush waits only for loads already
    /// done, and stops it when closing with nothing left. Returns whether the lane stopped.
    fn settle<E: Exporter<Load = L>>(&self, exporter: &mut E) -> bool {
        let mut state = self.state.borrow_mut();
        let reached = state.waiting.front().map_or(state.pushed, |(place, _)| *place);
        let flush = state.flushed < state.flush_wanted && state.flushed < reached;
        let stop = state.closing && state.waiting.is_empty();
        // Marked before the calls: an exporter that panics in them must not keep the reporter
        // waiting for them.
        if flush {
            state.flushed = reached;
        }
        state.stopped |= stop;
        drop(state);
        if flush {
            exporter.flush();
        }
        if stop {
            exporter.shutdown();
        }
        if flush || stop {
            self.progress.notify_one();
        }
        stop
    }

    /// Waits `pause` before the next attempt. Without a load in hand the lane settles
    /// meanwhile, so that a flush or the shutdown waiting for nothing it holds is not kept
    /// waiting out the pause. Returns whether the lane stopped.
    async fn pause<E: Exporter<Load = L>>(&self, exporter: &mut E, pause: Duration, in_hand: bool) -> bool {
        if in_hand {
            tokio::time::sleep(pause).await;
            return false;
        }
        let until = tokio::time::Instant::now() + pause;
        loop {
            if self.settle(exporter) {
                return true;
            }
            tokio::select! {
                () = tokio::time::sleep_until(until) => return false,
                () = self.work.notified() => {}
            }
        }
    }

    /// After a panic: drops the load in hand, counted as an export error; returns its units.
    fn drop_in_hand(&self) -> u64 {
        let units = self.release();
        self.counters.add(Outcome::DroppedExportError, units);
        units
    }
}

impl<L: Load> LaneControl for Lane<L> {
    fn counters(&self) -> &Arc<ExporterCounters> {
        &self.counters
    }

    fn request_flush(&self) -> u64 {
        let mut state = self.state.borrow_mut();
        let ticket = state.pushed;
        state.flush_wanted = ticket;
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
        let noun = L::SIGNAL.noun();
        self.counters.add(Outcome::DroppedShutdown, state.units);
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
struct Said {
    rejected: bool,
    unauthorized: bool,
    io: bool,
    panicked: bool,
}

thread_local! {
    /// Whether the code running on this thread is a lane's, whose panics the lane catches.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
}

/// Whether a panic now would be caught and reported by a lane (the panic hook stays quiet
/// then, so that a panic is reported once, by the lane).
pub(crate) fn lane_catches_panic() -> bool {
    cfg!(panic = "unwind") && CATCHING.with(Cell::get)
}

/// Runs the lane, catching a panic in the exporter's code: the lane reports it, drops what it
/// had in hand, and goes on after a pause. Returns when the lane has stopped.
async fn supervise<E: Exporter>(lane: Rc<Lane<E::Load>>, mut exporter: E) {
    let mut said = Said::default();
    let mut pause = None;
    loop {
        let Err(panic) = catch_unwind(deliver(&lane, &mut exporter, &mut said, pause)).await else { return };
        let dropped = lane.drop_in_hand();
        if !std::mem::replace(&mut said.panicked, true) {
            let noun = <E::Load as Load>::SIGNAL.noun();
            stderr_line!(
                "spanscope: {}: the exporter panicked ({}); it goes on after a pause, and what it had in hand ({dropped} {noun}) is dropped and counted in stats().{noun}_dropped_export_error (further panics are only counted)",
                lane.name,
                crate::stderr::panic_text(&*panic)
            );
        }
        lane.progress.notify_one();
        if lane.stopped() {
            return;
        }
        pause = Some(backoff(lane.count_failure(), lane.limits.max_backoff));
    }
}

/// Polls `delivery` to its end, or to a panic in it, which becomes the output.
async fn catch_unwind(delivery: impl Future<Output = ()>) -> Result<(), Box<dyn Any + Send>> {
    let mut delivery = std::pin::pin!(delivery);
    std::future::poll_fn(|cx| {
        CATCHING.with(|catching| catching.set(true));
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| delivery.as_mut().poll(cx)));
        CATCHING.with(|catching| catching.set(false));
        match polled {
            Ok(Poll::Ready(())) => Poll::Ready(Ok(())),
            Ok(Poll::Pending) => Poll::Pending,
            Err(panic) => Poll::Ready(Err(panic)),
        }
    })
    .await
}

/// The lane's delivery loop, from a `pause` first if given, until the lane stops.
async fn deliver<E: Exporter>(lane: &Lane<E::Load>, exporter: &mut E, said: &mut Said, mut pause: Option<Duration>) {
    let noun = <E::Load as Load>::SIGNAL.noun();
    let mut current: Option<(Arc<E::Load>, E::Payload)> = None;
    loop {
        if let Some(pause) = pause.take() {
            if lane.pause(exporter, pause, current.is_some()).await {
                return;
            }
        }
        if current.is_none() {
            if lane.settle(exporter) {
                return;
            }
            match lane.take() {
                Some(load) => {
                    let payload = exporter.encode(&load);
                    current = Some((load, payload));
                }
                None => {
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
        match outcome {
            Ok(Sent { rejected }) => {
                let rejected = rejected.min(units);
                if rejected > 0 && !std::mem::replace(&mut said.rejected, true) {
                    stderr_line!(
                        "spanscope: {}: the backend accepted a request but rejected {rejected} of its {units} {noun} (further rejections are only counted, in stats().{noun}_dropped_rejected)",
                        lane.name
                    );
                }
                lane.counters.add(Outcome::Exported, units - rejected);
                lane.counters.add(Outcome::DroppedRejected, rejected);
                load.count_delivered();
                if lane.recover() {
                    stderr_line!("spanscope: {}: delivering again", lane.name);
                }
                lane.release();
                current = None;
            }
            Err(ExportError::Retryable { reason, after }) => {
                lane.counters.add(Outcome::Retried, units);
                if lane.fail(reason.clone()) {
                    let kept = match <E::Load as Load>::SUPERSEDED_BY_NEWER {
                        true => "the newest collection".to_owned(),
                        false => format!("the newest {} {noun}", lane.limits.backlog),
                    };
                    stderr_line!(
                        "spanscope: {}: {reason}; retrying with backoff up to {:?}, keeping {kept} meanwhile",
                        lane.name,
                        lane.limits.max_backoff
                    );
                }
                let backoff = backoff(lane.count_failure(), lane.limits.max_backoff);
                // The backend's own advice is followed, within reason.
                let ceiling = lane.limits.max_backoff.max(Duration::from_secs(60));
                pause = Some(after.map_or(backoff, |after| after.max(backoff)).min(ceiling));
            }
            Err(ExportError::Rejected(reason)) => {
                lane.counters.add(Outcome::DroppedRejected, lane.release());
                if !std::mem::replace(&mut said.rejected, true) {
                    stderr_line!(
                        "spanscope: {}: a request of {units} {noun} was rejected: {reason} (further rejections are only counted, in stats().{noun}_dropped_rejected)",
                        lane.name
                    );
                }
                current = None;
            }
            Err(ExportError::Unauthorized(reason)) => {
                lane.counters.add(Outcome::DroppedRejected, lane.release());
                if !std::mem::replace(&mut said.unauthorized, true) {
                    stderr_line!(
                        "spanscope: {}: the backend refused our credentials ({reason}); {noun} are dropped and counted in stats().{noun}_dropped_rejected, and one attempt is made every {:?} until it accepts them",
                        lane.name, lane.limits.max_backoff
                    );
                }
                lane.fail(reason);
                current = None;
                pause = Some(lane.limits.max_backoff);
            }
            Err(ExportError::Io(error)) => {
                lane.counters.add(Outcome::DroppedExportError, lane.release());
                if !std::mem::replace(&mut said.io, true) {
                    stderr_line!("spanscope: {}: failed to write {units} {noun}: {error}", lane.name);
                }
                current = None;
            }
        }
        lane.progress.notify_one();
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
    use std::sync::Mutex;
    use std::time::Instant;

    use super::*;
    use crate::stats::{ExporterStats, Signal};

    /// A load of ten units, known by its number.
    #[derive(Debug)]
    struct Parcel(u64);

    impl Load for Parcel {
        const SIGNAL: Signal = Signal::Profiles;

        fn units(&self) -> u64 {
            10
        }
    }

    /// Delivers parcels into `delivered`; panics encoding or sending the ones it is told to,
    /// and never finishes sending `hang_on`.
    #[derive(Debug, Default)]
    struct Courier {
        delivered: Arc<Mutex<Vec<u64>>>,
        panic_encoding: Option<u64>,
        panic_sending: Option<u64>,
        hang_on: Option<u64>,
    }

    impl Exporter for Courier {
        type Load = Parcel;
        type Payload = u64;

        fn name(&self) -> &str {
            "courier"
        }

        fn timeout(&self) -> Duration {
            Duration::MAX
        }

        fn encode(&mut self, parcel: &Parcel) -> u64 {
            if Some(parcel.0) == self.panic_encoding {
                panic!("cannot encode parcel {}", parcel.0);
            }
            parcel.0
        }

        async fn send(&mut self, number: &u64) -> Result<Sent, ExportError> {
            if Some(*number) == self.panic_sending {
                panic!("cannot send parcel {number}");
            }
            if Some(*number) == self.hang_on {
                std::future::pending::<()>().await;
            }
            self.delivered.lock().unwrap().push(*number);
            Ok(Sent::default())
        }
    }

    const LIMITS: LaneLimits = LaneLimits { backlog: 1000, max_backoff: Duration::from_millis(20) };

    /// Runs `test` as the reporter thread runs lanes: on a current-thread runtime's `LocalSet`.
    fn on_reporter_runtime(test: impl Future<Output = ()>) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        tokio::task::LocalSet::new().block_on(&runtime, test);
    }

    fn start(courier: Courier, limits: LaneLimits) -> Rc<Lane<Parcel>> {
        launch(move || courier)(&limits, &Rc::new(Notify::new()))
    }

    /// Lets the lanes run until `condition` holds; fails after 30 s (a hang, not a slow machine).
    async fn until(what: &str, condition: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !condition() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn counts(lane: &Lane<Parcel>) -> ExporterStats {
        lane.counters().snapshot()
    }

    #[test]
    fn a_panicking_exporter_drops_what_it_had_in_hand_and_goes_on_beside_the_others() {
        on_reporter_runtime(async {
            let steady = Courier::default();
            let steady_delivered = Arc::clone(&steady.delivered);
            let steady = start(steady, LIMITS);
            let shaky = Courier { panic_encoding: Some(2), panic_sending: Some(4), ..Courier::default() };
            let shaky_delivered = Arc::clone(&shaky.delivered);
            let shaky = start(shaky, LIMITS);
            for number in 1..=6 {
                let parcel = Arc::new(Parcel(number));
                steady.push(Arc::clone(&parcel));
                shaky.push(parcel);
            }
            until("both lanes through their parcels", || {
                steady_delivered.lock().unwrap().len() == 6 && shaky_delivered.lock().unwrap().len() == 4
            })
            .await;
            assert_eq!(*shaky_delivered.lock().unwrap(), [1, 3, 5, 6], "the lane went on after each panic");
            let shaky_counts = counts(&shaky);
            assert_eq!((shaky_counts.exported, shaky_counts.dropped_export_error), (40, 20));
            assert_eq!((counts(&steady).exported, counts(&steady).dropped_export_error), (60, 0));
            let ticket = shaky.request_flush();
            shaky.close();
            steady.close();
            until("both lanes to stop", || shaky.flushed(ticket) && shaky.stopped() && steady.stopped()).await;
        });
    }

    #[test]
    fn a_flush_waits_only_for_what_was_pushed_before_it() {
        on_reporter_runtime(async {
            let courier = Courier { hang_on: Some(3), ..Courier::default() };
            let delivered = Arc::clone(&courier.delivered);
            let lane = start(courier, LIMITS);
            lane.push(Arc::new(Parcel(1)));
            lane.push(Arc::new(Parcel(2)));
            let ticket = lane.request_flush();
            lane.push(Arc::new(Parcel(3)));
            lane.push(Arc::new(Parcel(4)));
            until("the flush", || lane.flushed(ticket)).await;
            assert_eq!(*delivered.lock().unwrap(), [1, 2]);
            lane.give_up();
            assert_eq!(counts(&lane).dropped_shutdown, 20, "the hung parcel and the one behind it");
        });
    }

    #[test]
    fn a_full_lane_drops_its_own_oldest_and_keeps_the_newest() {
        on_reporter_runtime(async {
            let courier = Courier { hang_on: Some(1), ..Courier::default() };
            let lane = start(courier, LaneLimits { backlog: 25, ..LIMITS });
            lane.push(Arc::new(Parcel(1)));
            until("the first parcel in hand", || lane.state.borrow().in_hand.is_some()).await;
            assert!(lane.has_room(10));
            for number in 2..=5 {
                lane.push(Arc::new(Parcel(number)));
            }
            let state = lane.state.borrow();
            let waiting: Vec<u64> = state.waiting.iter().map(|(_, parcel)| parcel.0).collect();
            assert_eq!((waiting, state.units), (vec![5], 20));
            drop(state);
            assert_eq!(counts(&lane).dropped_backend_down, 30, "parcels 2 to 4, counted as this lane's own");
            assert!(!lane.has_room(10), "a full lane takes no more without dropping");
        });
    }

    /// A cumulative reading, known by its number: a newer one holds everything an older one does.
    #[derive(Debug)]
    struct Reading(u64);

    impl Load for Reading {
        const SIGNAL: Signal = Signal::Metrics;
        const SUPERSEDED_BY_NEWER: bool = true;

        fn units(&self) -> u64 {
            3
        }

        fn count_superseded(&self) {
            crate::stats::add(crate::stats::Counter::MetricSnapshotsSuperseded, 1);
        }
    }

    /// Keeps the readings it sends; never finishes sending the first.
    #[derive(Debug, Default)]
    struct Meter {
        sent: Arc<Mutex<Vec<u64>>>,
    }

    impl Exporter for Meter {
        type Load = Reading;
        type Payload = u64;

        fn name(&self) -> &str {
            "meter"
        }

        fn timeout(&self) -> Duration {
            Duration::MAX
        }

        fn encode(&mut self, reading: &Reading) -> u64 {
            reading.0
        }

        async fn send(&mut self, number: &u64) -> Result<Sent, ExportError> {
            if *number == 1 {
                std::future::pending::<()>().await;
            }
            self.sent.lock().unwrap().push(*number);
            Ok(Sent::default())
        }
    }

    #[test]
    fn a_newer_load_replaces_a_waiting_older_one_without_a_drop() {
        on_reporter_runtime(async {
            let meter = Meter::default();
            let lane = launch(move || meter)(&LaneLimits { backlog: 1, ..LIMITS }, &Rc::new(Notify::new()));
            let superseded = crate::stats::get(crate::stats::Counter::MetricSnapshotsSuperseded);
            lane.push(Arc::new(Reading(1)));
            until("the first reading in hand", || lane.state.borrow().in_hand.is_some()).await;
            for number in 2..=4 {
                lane.push(Arc::new(Reading(number)));
            }
            let state = lane.state.borrow();
            let waiting: Vec<u64> = state.waiting.iter().map(|(_, reading)| reading.0).collect();
            assert_eq!((waiting, state.units), (vec![4], 6), "the one in hand and the newest");
            drop(state);
            let counts = lane.counters().snapshot();
            assert_eq!((counts.dropped_backend_down, counts.dropped_shutdown), (0, 0), "superseded is not dropped");
            assert_eq!(crate::stats::get(crate::stats::Counter::MetricSnapshotsSuperseded) - superseded, 2);
        });
    }

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

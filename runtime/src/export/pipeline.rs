//! The queue from application threads to the reporter thread, and the reporter's loop:
//! batching, handing batches to the span lanes and profiles to the profile lanes, collecting
//! the metrics for the metrics lanes, flush and shutdown within their deadlines.
//!
//! The reporter thread runs one current-thread tokio runtime with a `LocalSet`: this loop and
//! every lane are tasks on it, so they share state without locks. Batches are cut at
//! `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` spans (a segment is never split) or when the oldest
//! segment in the batch has waited `OTEL_BSP_SCHEDULE_DELAY`.
//!
//! A cut batch goes to every span lane as soon as one whose backend answers has room (or none
//! answers); the others drop their own oldest spans to take it (see [`lane`](crate::export::lane)). So
//! the reporter waits only while no exporter can take more, and the bounded queue in front is
//! where spans drop then: the fastest exporter paces the reporter, never the slowest. A flush
//! waits for the lanes without holding the loop, which goes on collecting and handing batches
//! over meanwhile.
//!
//! The reporter is woken by the first segment after a quiet spell only: while segments keep
//! coming it collects them every [`COLLECT_EVERY`] without being woken, so a busy service pays
//! one wake-up per interval instead of one (a futex call and a context switch) per segment.
//! Under heavier traffic a queue a quarter full wakes it sooner: its wake-ups follow the load
//! only when the interval would let the queue fill.
//!
//! Log records come through a queue of their own, taken the same way (woken by the first record
//! after a quiet spell, then every [`COLLECT_EVERY`]), cut into batches at
//! `OTEL_BLRP_MAX_EXPORT_BATCH_SIZE` records or when the oldest has waited
//! `OTEL_BLRP_SCHEDULE_DELAY`, and handed to every logs lane at once: logs lanes never make the
//! reporter wait, they drop their own oldest records instead.
//!
//! With a metrics lane, the reporter collects the metrics every `OTEL_METRIC_EXPORT_INTERVAL`
//! (the first an interval after `init`; the interval is between the starts of two
//! collections), and at each flush and the shutdown, so that shutdown delivers the values up to
//! its end.

use std::cell::Cell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Notify};

use crate::clock::Converter;
use crate::config::Settings;
use crate::error::InitError;
use crate::export::lane::{Lane, LaneControl, LaneLimits};
use crate::export::logs::LogBatch;
use crate::export::profiles::{self, ProfileSender};
use crate::export::{Backends, Batch, Launches};
use crate::logs::LogRecord;
use crate::metrics::collect::{self, Collection};
use crate::metrics::snapshot::Snapshot;
use crate::outbox::{self, Outbox, OutboxReceiver};
use crate::profiler::sink::ProfileWindow;
use crate::span::Segment;
use crate::stats::{self, Counter};

/// How often the reporter takes what was queued while segments keep arriving; a queue a quarter
/// full wakes it sooner. Each collection is a wake-up and a context switch: at 5 ms they were a
/// measurable part of a busy service's cost. Segments wait for export anyway (a batch is cut
/// after `OTEL_BSP_SCHEDULE_DELAY`), and a flush takes what is queued at once.
const COLLECT_EVERY: Duration = Duration::from_millis(50);

/// Where [`Control`] requests go.
pub(crate) type ControlSender = mpsc::UnboundedSender<Control>;

/// Requests to the reporter; each is answered on its channel when done or at its deadline.
#[derive(Debug)]
pub(crate) enum Control {
    /// Deliver everything submitted so far; answers whether everything was delivered.
    Flush { done: std::sync::mpsc::Sender<bool>, deadline: Instant },
    /// Deliver what can be delivered by the deadline, count the rest, and stop.
    Shutdown { done: std::sync::mpsc::Sender<bool>, deadline: Instant },
}

/// A running reporter.
#[derive(Debug)]
pub(crate) struct ReporterHandle {
    /// Where finished segments go, for `init` to install.
    pub outbox: Outbox<Box<Segment>>,
    /// Where log records go, for `init` to install.
    pub logs: Outbox<LogRecord>,
    pub control: ControlSender,
    pub reporter: JoinHandle<()>,
    /// Where the profiler hands its windows over, when a profile backend is configured.
    pub profiles: Option<ProfileSender>,
}

thread_local! {
    static IS_REPORTER: Cell<bool> = const { Cell::new(false) };
}

/// Whether this is the reporter thread (which must never wait for itself).
pub(crate) fn is_reporter_thread() -> bool {
    IS_REPORTER.with(Cell::get)
}

/// Opens the outputs of `backends` and starts the reporter thread.
pub(crate) fn start(settings: &Settings, backends: &Backends) -> Result<ReporterHandle, InitError> {
    let launches = super::launches(settings, backends)?;
    let io = |what: &'static str| move |error| InitError::Io { path: what.into(), error };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .on_thread_start(crate::sys::threads::mark_own)
        .build()
        .map_err(io("the spanscope-reporter runtime"))?;
    let (outbox, queue) = outbox::channel(settings.max_queue_size);
    let (logs, log_queue) = outbox::channel(settings.logs.max_queue_size);
    let (control, control_rx) = mpsc::unbounded_channel();
    let (profiles, profiles_rx) = if launches.profiles.is_empty() {
        (None, None)
    } else {
        let (sender, receiver) = mpsc::channel(profiles::BACKLOG);
        (Some(ProfileSender(sender)), Some(receiver))
    };
    let limits = Limits {
        spans: LaneLimits { backlog: settings.export_backlog as u64, max_backoff: settings.max_backoff },
        profiles: LaneLimits { backlog: profiles::BACKLOG as u64, max_backoff: settings.max_backoff },
        // A metrics lane holds one waiting collection, whatever its points: a newer one
        // replaces it.
        metrics: LaneLimits { backlog: u64::MAX, max_backoff: settings.max_backoff },
        logs: LaneLimits { backlog: settings.export_backlog as u64, max_backoff: settings.max_backoff },
    };
    let metrics_interval = settings.metrics.interval;
    let (ready, launched) = std::sync::mpsc::channel();
    let (max_batch, delay) = (settings.max_export_batch_size as u64, settings.schedule_delay);
    let (log_max_batch, log_delay) = (settings.logs.max_export_batch_size, settings.logs.schedule_delay);
    let reporter = crate::sys::threads::spawn("spanscope-reporter", move || {
        IS_REPORTER.with(|r| r.set(true));
        let reporter = Reporter {
            queue,
            control: control_rx,
            profiles: profiles_rx,
            batch: Vec::new(),
            batch_spans: 0,
            batch_deadline: None,
            max_batch,
            delay,
            progress: Rc::new(Notify::new()),
            lanes: Vec::new(),
            profile_lanes: Vec::new(),
            metric_lanes: Vec::new(),
            logs: LogIntake {
                queue: log_queue,
                batch: Vec::new(),
                deadline: None,
                collect_at: None,
                max_batch: log_max_batch,
                delay: log_delay,
                lanes: Vec::new(),
            },
            metrics_interval,
            next_collection: None,
            flushes: VecDeque::new(),
        };
        let local = tokio::task::LocalSet::new();
        local.block_on(&runtime, reporter.run(launches, limits, ready));
        // Whatever is still in flight was counted as undelivered: drop it (inside the
        // runtime, which its connections belong to) and don't wait for anything else.
        {
            let _context = runtime.enter();
            drop(local);
        }
        runtime.shutdown_background();
    })
    .map_err(io("the spanscope-reporter thread"))?;
    // `stats()` lists the exporters from the moment `init` returns.
    launched.recv().map_err(|_| InitError::Io {
        path: "the spanscope-reporter thread".into(),
        error: std::io::Error::other("it ended while starting the exporters"),
    })?;
    Ok(ReporterHandle { outbox, logs, control, reporter, profiles })
}

/// The bounds of span lanes, profile lanes, metrics lanes and logs lanes.
#[derive(Debug, Clone, Copy)]
struct Limits {
    spans: LaneLimits,
    profiles: LaneLimits,
    metrics: LaneLimits,
    logs: LaneLimits,
}

/// The reporter's loop state. Lives on the reporter thread only.
#[derive(Debug)]
struct Reporter {
    queue: OutboxReceiver<Box<Segment>>,
    logs: LogIntake,
    control: mpsc::UnboundedReceiver<Control>,
    /// Windows from the profiler; `None` without profile lanes, or once closed.
    profiles: Option<mpsc::Receiver<Arc<ProfileWindow>>>,
    #[allow(clippy::vec_box)]
    batch: Vec<Box<Segment>>,
    batch_spans: u64,
    /// When the batch being filled must be cut: its first segment's arrival plus the delay.
    batch_deadline: Option<tokio::time::Instant>,
    max_batch: u64,
    delay: Duration,
    progress: Rc<Notify>,
    lanes: Vec<Rc<Lane<Batch>>>,
    profile_lanes: Vec<Rc<Lane<ProfileWindow>>>,
    metric_lanes: Vec<Rc<Lane<Snapshot>>>,
    metrics_interval: Duration,
    /// When to collect the metrics next; `None` without metrics lanes.
    next_collection: Option<tokio::time::Instant>,
    /// Flushes waiting for the lanes, in the order asked: their tickets and deadlines only grow.
    flushes: VecDeque<PendingFlush>,
}

/// The log records' side of the reporter: their queue, the batch being filled, their lanes.
#[derive(Debug)]
struct LogIntake {
    queue: OutboxReceiver<LogRecord>,
    batch: Vec<LogRecord>,
    /// When the batch being filled must be cut: its first record's arrival plus the delay.
    deadline: Option<tokio::time::Instant>,
    /// When to take queued records next, while they keep coming (see [`COLLECT_EVERY`]).
    collect_at: Option<tokio::time::Instant>,
    max_batch: usize,
    delay: Duration,
    lanes: Vec<Rc<Lane<LogBatch>>>,
}

impl LogIntake {
    /// Takes the first record after a quiet spell, and what is queued behind it.
    fn arrived(&mut self, record: LogRecord) {
        self.add(record);
        self.take_queued();
        self.collect_at = Some(tokio::time::Instant::now() + COLLECT_EVERY);
    }

    /// Takes what is queued; while records keep coming, looks again after [`COLLECT_EVERY`].
    fn collect(&mut self) {
        let took = self.take_queued();
        self.collect_at = took.then(|| tokio::time::Instant::now() + COLLECT_EVERY);
    }

    /// Adds the records queued now to batches; whether there was any.
    fn take_queued(&mut self) -> bool {
        let mut took = false;
        while let Ok(record) = self.queue.items.try_recv() {
            took = true;
            self.add(record);
        }
        took
    }

    fn add(&mut self, record: LogRecord) {
        if self.batch.is_empty() {
            self.deadline = Some(tokio::time::Instant::now() + self.delay);
        }
        self.batch.push(record);
        if self.batch.len() >= self.max_batch {
            self.cut();
        }
    }

    /// Ends the batch being filled and hands it to every logs lane; a lane without room drops
    /// its own oldest records to take it.
    fn cut(&mut self) {
        self.deadline = None;
        if self.batch.is_empty() {
            return;
        }
        let batch = Arc::new(LogBatch { records: std::mem::take(&mut self.batch), clock: Converter::current() });
        for lane in &self.lanes {
            lane.push(Arc::clone(&batch));
        }
    }

    /// Moves everything queued so far into the lanes.
    fn drain(&mut self) {
        self.take_queued();
        self.cut();
    }
}

/// A flush whose batches are in the lanes: answered once every lane has flushed what it held
/// when asked, or at the deadline.
#[derive(Debug)]
struct PendingFlush {
    done: std::sync::mpsc::Sender<bool>,
    deadline: tokio::time::Instant,
    /// Each lane's ticket, in [`Reporter::every_lane`]'s order.
    tickets: Vec<u64>,
}

impl Reporter {
    async fn run(mut self, launches: Launches, limits: Limits, ready: std::sync::mpsc::Sender<()>) {
        self.lanes = launches.spans.into_iter().map(|launch| launch(&limits.spans, &self.progress)).collect();
        self.profile_lanes =
            launches.profiles.into_iter().map(|launch| launch(&limits.profiles, &self.progress)).collect();
        self.metric_lanes =
            launches.metrics.into_iter().map(|launch| launch(&limits.metrics, &self.progress)).collect();
        self.logs.lanes = launches.logs.into_iter().map(|launch| launch(&limits.logs, &self.progress)).collect();
        let counters = self.every_lane().map(|lane| Arc::clone(lane.counters())).collect();
        stats::set_exporters(counters);
        if !self.metric_lanes.is_empty() {
            self.next_collection = Some(tokio::time::Instant::now() + self.metrics_interval);
        }
        let _ = ready.send(());
        // A cut batch waiting while no exporter whose backend answers has room for it.
        let mut pending: Option<Arc<Batch>> = None;
        // When to take queued segments next, while they keep coming (see `COLLECT_EVERY`).
        let mut collect_at: Option<tokio::time::Instant> = None;
        loop {
            // Hand cut batches over while a lane has room, and, while collecting, keep
            // taking what is queued behind them.
            while let Some(batch) = pending.take() {
                if !self.has_room(batch.spans) {
                    pending = Some(batch);
                    break;
                }
                self.dispatch(&batch);
                if collect_at.is_some() {
                    pending = self.take_queued().0;
                }
            }
            self.answer_flushes();
            let cut_at = self.batch_deadline;
            let flush_due = self.flushes.front().map(|flush| flush.deadline);
            tokio::select! {
                biased;
                request = self.control.recv() => match request {
                    Some(Control::Flush { done, deadline }) => {
                        self.flush(done, pending.take(), reporting_deadline(deadline)).await;
                    }
                    Some(Control::Shutdown { done, deadline }) => {
                        let delivered = self.shutdown(pending.take(), reporting_deadline(deadline)).await;
                        let _ = done.send(delivered);
                        return;
                    }
                    // Only the process-wide state holds the other end, and it is never freed.
                    None => return,
                },
                () = self.progress.notified(), if pending.is_some() || !self.flushes.is_empty() => {}
                () = sleep_until(flush_due), if flush_due.is_some() => {}
                window = next_profile(&mut self.profiles), if self.profiles.is_some() => match window {
                    Some(window) => self.dispatch_profile(&window),
                    None => self.profiles = None,
                },
                () = sleep_until(self.next_collection), if self.next_collection.is_some() => {
                    self.collect_metrics_when_due();
                }
                record = self.logs.queue.items.recv(), if self.logs.collect_at.is_none() => match record {
                    Some(record) => self.logs.arrived(record),
                    None => return,
                },
                () = collection_due(self.logs.collect_at, &self.logs.queue.filling), if self.logs.collect_at.is_some() => {
                    self.logs.collect();
                }
                () = sleep_until(self.logs.deadline), if self.logs.deadline.is_some() => self.logs.cut(),
                segment = self.queue.items.recv(), if pending.is_none() && collect_at.is_none() => match segment {
                    Some(segment) => {
                        pending = self.add(segment).or_else(|| self.take_queued().0);
                        collect_at = Some(tokio::time::Instant::now() + COLLECT_EVERY);
                    }
                    None => return,
                },
                () = collection_due(collect_at, &self.queue.filling), if pending.is_none() && collect_at.is_some() => {
                    let (batch, took) = self.take_queued();
                    pending = batch;
                    // Quiet again: wait to be woken by the next segment.
                    collect_at = took.then(|| tokio::time::Instant::now() + COLLECT_EVERY);
                }
                () = sleep_until(cut_at), if pending.is_none() && cut_at.is_some() => pending = self.cut(),
            }
        }
    }

    /// Adds a segment to the batch being filled; returns the batch if it is now full.
    fn add(&mut self, segment: Box<Segment>) -> Option<Arc<Batch>> {
        if self.batch.is_empty() {
            self.batch_deadline = Some(tokio::time::Instant::now() + self.delay);
        }
        self.batch_spans += segment.spans.len() as u64;
        self.batch.push(segment);
        if self.batch_spans >= self.max_batch {
            self.cut()
        } else {
            None
        }
    }

    /// Adds the segments queued now to the batch, up to a full batch, which it returns; and
    /// whether there was any.
    fn take_queued(&mut self) -> (Option<Arc<Batch>>, bool) {
        let mut took = false;
        while let Ok(segment) = self.queue.items.try_recv() {
            took = true;
            if let Some(batch) = self.add(segment) {
                return (Some(batch), true);
            }
        }
        (None, took)
    }

    /// Ends the batch being filled.
    fn cut(&mut self) -> Option<Arc<Batch>> {
        self.batch_deadline = None;
        if self.batch.is_empty() {
            return None;
        }
        let segments = std::mem::take(&mut self.batch);
        let over_limit: u64 = segments.iter().map(|s| u64::from(s.dropped_spans)).sum();
        stats::add(Counter::SpansDroppedSegmentFull, over_limit);
        let spans = std::mem::take(&mut self.batch_spans);
        Some(Arc::new(Batch { segments, spans, clock: Converter::current() }))
    }

    /// Whether a batch of `spans` can be handed over now: a span lane whose backend answers
    /// takes it without dropping any it holds, or no backend answers. The lanes it does not fit
    /// drop their own oldest to take it.
    fn has_room(&self, spans: u64) -> bool {
        self.lanes.iter().all(|lane| !lane.answering())
            || self.lanes.iter().any(|lane| lane.answering() && lane.has_room(spans))
    }

    fn dispatch(&self, batch: &Arc<Batch>) {
        for lane in &self.lanes {
            lane.push(Arc::clone(batch));
        }
    }

    /// Profile lanes never make anyone wait: they drop their oldest windows instead.
    fn dispatch_profile(&self, window: &Arc<ProfileWindow>) {
        for lane in &self.profile_lanes {
            lane.push(Arc::clone(window));
        }
    }

    /// Collects the metrics, if there is a metrics lane, and hands the collection to each.
    fn collect_metrics(&self) {
        if self.metric_lanes.is_empty() {
            return;
        }
        let snapshot = Arc::new(collect::collect(Collection::Periodic));
        for lane in &self.metric_lanes {
            lane.push(Arc::clone(&snapshot));
        }
    }

    /// The interval's collection; the next is due an interval after this one was (or after
    /// now, if the reporter fell that far behind). Flushes take collections of their own
    /// without moving this schedule.
    fn collect_metrics_when_due(&mut self) {
        let Some(due) = self.next_collection else { return };
        self.collect_metrics();
        let (next, now) = (due + self.metrics_interval, tokio::time::Instant::now());
        self.next_collection = Some(if next <= now { now + self.metrics_interval } else { next });
    }

    /// Every lane, span, profile, metrics and logs, as the reporter controls them.
    fn every_lane(&self) -> impl Iterator<Item = &dyn LaneControl> {
        let spans = self.lanes.iter().map(|lane| &**lane as &dyn LaneControl);
        let profiles = self.profile_lanes.iter().map(|lane| &**lane as &dyn LaneControl);
        let metrics = self.metric_lanes.iter().map(|lane| &**lane as &dyn LaneControl);
        spans.chain(profiles).chain(metrics).chain(self.logs.lanes.iter().map(|lane| &**lane as &dyn LaneControl))
    }

    /// Dispatches `batch` once a lane has room, or at the deadline regardless (then every lane
    /// drops its oldest to take it).
    async fn dispatch_by(&self, batch: Arc<Batch>, deadline: Instant) {
        let deadline = Some(tokio::time::Instant::from_std(deadline));
        while !self.has_room(batch.spans) {
            tokio::select! {
                () = self.progress.notified() => {}
                () = sleep_until(deadline) => break,
            }
        }
        self.dispatch(&batch);
    }

    /// Moves everything submitted so far into the lanes, with a collection of the metrics.
    async fn drain(&mut self, pending: Option<Arc<Batch>>, deadline: Instant) {
        self.collect_metrics();
        self.logs.drain();
        while let Some(Ok(window)) = self.profiles.as_mut().map(mpsc::Receiver::try_recv) {
            self.dispatch_profile(&window);
        }
        if let Some(batch) = pending {
            self.dispatch_by(batch, deadline).await;
        }
        while let (Some(batch), _) = self.take_queued() {
            self.dispatch_by(batch, deadline).await;
        }
        if let Some(batch) = self.cut() {
            self.dispatch_by(batch, deadline).await;
        }
    }

    /// Waits until every lane has stopped, or the deadline; returns whether they have.
    async fn wait_stopped(&self, deadline: Instant) -> bool {
        let deadline = Some(tokio::time::Instant::from_std(deadline));
        let all_stopped = || self.every_lane().all(|lane| lane.stopped());
        loop {
            if all_stopped() {
                return true;
            }
            tokio::select! {
                () = self.progress.notified() => {}
                () = sleep_until(deadline) => return all_stopped(),
            }
        }
    }

    /// Hands everything submitted so far to the lanes and asks each to flush it; the answer
    /// comes from [`answer_flushes`](Self::answer_flushes), while the loop goes on.
    async fn flush(&mut self, done: std::sync::mpsc::Sender<bool>, pending: Option<Arc<Batch>>, deadline: Instant) {
        self.drain(pending, deadline).await;
        let tickets = self.every_lane().map(|lane| lane.request_flush()).collect();
        self.flushes.push_back(PendingFlush { done, deadline: tokio::time::Instant::from_std(deadline), tickets });
    }

    /// Answers the flushes every lane has done (delivered), and those past their deadline (not
    /// delivered). A flush neither done nor due holds back the ones asked after it, which
    /// cannot be either: so a burst of flushes (a panic asks for one) costs one check each.
    fn answer_flushes(&mut self) {
        let now = tokio::time::Instant::now();
        while let Some(flush) = self.flushes.front() {
            let flushed = self.every_lane().zip(&flush.tickets).all(|(lane, ticket)| lane.flushed(*ticket));
            if !flushed && now < flush.deadline {
                break;
            }
            if let Some(flush) = self.flushes.pop_front() {
                let _ = flush.done.send(flushed);
            }
        }
    }

    /// Stops taking segments and profiles, delivers what it can by the deadline, and counts
    /// and reports what it could not.
    async fn shutdown(&mut self, pending: Option<Arc<Batch>>, deadline: Instant) -> bool {
        self.queue.items.close();
        self.logs.queue.items.close();
        if let Some(profiles) = &mut self.profiles {
            profiles.close();
        }
        self.drain(pending, deadline).await;
        for lane in self.every_lane() {
            lane.close();
        }
        let delivered = self.wait_stopped(deadline).await;
        for lane in self.every_lane().filter(|lane| !lane.stopped()) {
            lane.give_up();
        }
        // A flush still waiting got as far as the shutdown did.
        for flush in std::mem::take(&mut self.flushes) {
            let _ = flush.done.send(delivered);
        }
        delivered
    }
}

/// The reporter answers a little before the caller stops waiting, so that what it reports as
/// undelivered is what was.
fn reporting_deadline(deadline: Instant) -> Instant {
    let left = deadline.saturating_duration_since(Instant::now());
    deadline - (left / 10).min(Duration::from_millis(250))
}

/// The next window from the profiler; never ready without a receiver (its branch is disabled).
async fn next_profile(profiles: &mut Option<mpsc::Receiver<Arc<ProfileWindow>>>) -> Option<Arc<ProfileWindow>> {
    match profiles {
        Some(profiles) => profiles.recv().await,
        None => std::future::pending().await,
    }
}

/// Resolves at `at`, or sooner when the queue is filling up.
async fn collection_due(at: Option<tokio::time::Instant>, filling: &Notify) {
    tokio::select! {
        () = sleep_until(at) => {}
        () = filling.notified() => {}
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

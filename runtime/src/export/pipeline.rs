//! The queue from application threads to the reporter thread, and the reporter's loop.

use std::cell::Cell;
use std::sync::mpsc::{self, RecvTimeoutError, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::resource::Resource;
use super::{Batch, Exporter};
use crate::clock::Converter;
use crate::config::Settings;
use crate::global::{self, InitError};
use crate::span::Segment;
use crate::stats::{self, Counter};

/// What travels on the bounded queue.
#[derive(Debug)]
pub(crate) enum Message {
    Segment(Box<Segment>),
    /// Wakes the reporter to look at its control channel.
    Wake,
}

/// Requests to the reporter; each is answered on its channel when done.
#[derive(Debug)]
pub(crate) enum Control {
    Flush(mpsc::Sender<()>),
    Shutdown(mpsc::Sender<()>),
}

thread_local! {
    static IS_REPORTER: Cell<bool> = const { Cell::new(false) };
}

/// Whether this is the reporter thread (which must never wait for itself).
pub(crate) fn is_reporter_thread() -> bool {
    IS_REPORTER.with(Cell::get)
}

/// Hands a finished segment to the reporter without waiting; drops and counts it if the queue
/// is full or spanscope has shut down.
pub(crate) fn submit(segment: Box<Segment>) {
    let spans = segment.spans.len() as u64;
    let Some(shared) = global::shared() else {
        stats::add(Counter::SpansDroppedShutdown, spans);
        return;
    };
    match shared.queue.try_send(Message::Segment(segment)) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => stats::add(Counter::SpansDroppedQueueFull, spans),
        Err(TrySendError::Disconnected(_)) => stats::add(Counter::SpansDroppedShutdown, spans),
    }
}

/// The reporter: owns the exporters and everything slow.
#[derive(Debug)]
pub(crate) struct Reporter {
    exporters: Vec<Box<dyn Exporter>>,
    queue: mpsc::Receiver<Message>,
    control: mpsc::Receiver<Control>,
    resource: Resource,
    // Segments arrive boxed (their owner needed a stable address); unboxing would copy each.
    #[allow(clippy::vec_box)]
    batch: Vec<Box<Segment>>,
    max_batch: usize,
    delay: Duration,
}

impl Reporter {
    pub(crate) fn new(
        exporters: Vec<Box<dyn Exporter>>,
        queue: mpsc::Receiver<Message>,
        control: mpsc::Receiver<Control>,
        settings: &Settings,
    ) -> Self {
        Self {
            exporters,
            queue,
            control,
            resource: Resource::new(settings),
            batch: Vec::with_capacity(settings.max_export_batch_size),
            max_batch: settings.max_export_batch_size,
            delay: settings.schedule_delay,
        }
    }

    pub(crate) fn spawn(self) -> Result<JoinHandle<()>, InitError> {
        std::thread::Builder::new()
            .name("spanscope-reporter".into())
            .spawn(move || {
                IS_REPORTER.with(|r| r.set(true));
                self.run();
            })
            .map_err(|error| InitError::Io { path: "spanscope-reporter thread".into(), error })
    }

    fn run(mut self) {
        let mut deadline = Instant::now() + self.delay;
        loop {
            match self.queue.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(Message::Segment(segment)) => {
                    self.batch.push(segment);
                    if self.batch.len() >= self.max_batch {
                        self.export();
                    }
                }
                Ok(Message::Wake) => {}
                Err(RecvTimeoutError::Timeout) => {
                    self.export();
                    deadline = Instant::now() + self.delay;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.finish();
                    return;
                }
            }
            while let Ok(request) = self.control.try_recv() {
                match request {
                    Control::Flush(done) => {
                        self.drain();
                        for exporter in &mut self.exporters {
                            // Write errors were reported as they happened; flushing goes on.
                            let _ = exporter.flush();
                        }
                        let _ = done.send(());
                    }
                    Control::Shutdown(done) => {
                        self.finish();
                        let _ = done.send(());
                        return;
                    }
                }
            }
        }
    }

    /// Exports everything queued now.
    fn drain(&mut self) {
        while let Ok(message) = self.queue.try_recv() {
            if let Message::Segment(segment) = message {
                self.batch.push(segment);
                if self.batch.len() >= self.max_batch {
                    self.export();
                }
            }
        }
        self.export();
    }

    fn finish(&mut self) {
        self.drain();
        for exporter in &mut self.exporters {
            exporter.shutdown();
        }
    }

    fn export(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let spans: u64 = self.batch.iter().map(|s| s.spans.len() as u64).sum();
        let over_limit: u64 = self.batch.iter().map(|s| u64::from(s.dropped_spans)).sum();
        let batch = Batch { segments: &self.batch, clock: Converter::current(), resource: &self.resource };
        let mut failed = false;
        for exporter in &mut self.exporters {
            if let Err(error) = exporter.export(&batch) {
                eprintln!("spanscope: {exporter:?} failed to export {spans} spans: {error}");
                failed = true;
            }
        }
        if failed {
            stats::add(Counter::SpansDroppedExportError, spans);
        } else {
            stats::add(Counter::SegmentsExported, self.batch.len() as u64);
            stats::add(Counter::SpansExported, spans);
        }
        stats::add(Counter::SpansDroppedSegmentFull, over_limit);
        self.batch.clear();
    }
}

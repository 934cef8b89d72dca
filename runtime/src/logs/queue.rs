//! Where records go: the queue to the reporter thread, which `init` installs (one non-blocking
//! queue operation per record; when the queue is full or nothing runs, the record is dropped
//! and counted).

use crate::logs::record::LogRecord;
use crate::outbox::{Installed, Outbox, Refused};
use crate::stats::{self, Counter};

static OUTBOX: Installed<LogRecord> = Installed::new();

/// Makes `outbox` the one records go to.
pub(crate) fn install(outbox: Outbox<LogRecord>) {
    OUTBOX.install(outbox);
}

/// Hands a record over without waiting.
pub(super) fn submit(record: LogRecord) {
    let Some(outbox) = OUTBOX.get() else {
        return stats::add(Counter::LogRecordsDroppedShutdown, 1);
    };
    match outbox.send(record) {
        Ok(()) => {}
        Err(Refused::Full) => stats::add(Counter::LogRecordsDroppedQueueFull, 1),
        Err(Refused::Closed) => stats::add(Counter::LogRecordsDroppedShutdown, 1),
    }
}

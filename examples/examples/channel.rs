//! Carrying a trace through a channel by hand: a producer thread sends jobs with their span
//! context over `std::sync::mpsc` to a pool of worker threads, and each worker continues the
//! trace of the job it picked up.
//!
//! ```text
//! OTEL_TRACES_EXPORTER=console cargo run --example channel
//! ```
//!
//! Each batch is one trace: the producer's entry span, and under it, one `resize` span per job,
//! on whichever worker ran it, linked by a cross-thread reference. The `batch` baggage set by the
//! producer reaches every worker. Nothing here goes through a propagator: it works with
//! `OTEL_PROPAGATORS=none` too.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use spanscope::CapturedContext;

spanscope::tags! {
    /// The size of the image a job resizes, in pixels.
    pub pixels: u64 = "image.pixels",
}

/// One unit of work, with the context of the span that asked for it.
#[derive(Debug)]
struct Job {
    pixels: u64,
    context: CapturedContext,
}

/// The work itself, a span of its own wherever it runs.
#[spanscope::local(name = "resize", tags(pixels = pixels))]
fn resize(pixels: u64) -> u64 {
    let batch = spanscope::baggage::get("batch").unwrap_or_default();
    (0..pixels).fold(batch.len() as u64, |hash, p| hash.rotate_left(5) ^ p)
}

/// A worker: takes jobs until the channel closes, each in the context it was sent with.
fn worker(jobs: Arc<Mutex<mpsc::Receiver<Job>>>) -> usize {
    let mut done = 0;
    loop {
        // The lock is held only to receive, never while working.
        let next = jobs.lock().map_err(|_| ()).and_then(|jobs| jobs.recv().map_err(|_| ()));
        let Ok(Job { pixels, context }) = next else { return done };
        context.scope(|| resize(pixels));
        done += 1;
    }
}

#[spanscope::main(service = "channel-example")]
fn main() {
    let (send, receive) = mpsc::channel::<Job>();
    let receive = Arc::new(Mutex::new(receive));
    let pool: Vec<_> = (0..3)
        .map(|_| {
            let receive = Arc::clone(&receive);
            std::thread::spawn(move || worker(receive))
        })
        .collect();

    for batch in 0..2 {
        // The span a real producer would be in: a request handler, a consumer loop.
        let producer = spanscope::span::entry(format!("batch {batch}")).enter();
        spanscope::baggage::set("batch", batch.to_string()).expect("inside a span");
        for pixels in [640 * 480, 1280 * 720, 1920 * 1080] {
            let job = Job { pixels, context: spanscope::capture() };
            send.send(job).expect("the workers run until the channel closes");
        }
        let trace = producer.context().map(|c| c.trace_id.to_string()).unwrap_or_default();
        producer.end();
        println!("sent batch {batch} as trace {trace}");
    }
    drop(send);
    let done: usize = pool.into_iter().map(|worker| worker.join().unwrap_or(0)).sum();
    println!("{done} jobs done");
}

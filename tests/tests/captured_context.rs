//! `spanscope::capture()`: the current span context carried by hand across a channel to a
//! worker pool, with no propagator configured (`OTEL_PROPAGATORS=none`): one trace, a
//! cross-thread reference to the captured span, baggage kept.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use spanscope::CapturedContext;
use spanscope_tests::{finished, setup_in_memory, FinishedCheck, FinishedSet};

#[spanscope::local(name = "handle job")]
fn handle_job(job: u32) -> (u32, Option<String>) {
    (job, spanscope::baggage::get("tenant"))
}

/// `jobs` sent from a producer span through a channel to `workers` threads.
fn run_pool(jobs: u32, workers: usize) -> (String, Vec<(u32, Option<String>)>) {
    let (send, receive) = mpsc::channel::<(u32, CapturedContext)>();
    let receive = Arc::new(Mutex::new(receive));
    let pool: Vec<_> = (0..workers)
        .map(|_| {
            let receive = Arc::clone(&receive);
            std::thread::spawn(move || {
                let mut done = Vec::new();
                loop {
                    let next = receive.lock().unwrap().recv();
                    let Ok((job, context)) = next else { return done };
                    done.push(context.scope(|| handle_job(job)));
                }
            })
        })
        .collect();
    let producer = spanscope::span::entry("produce jobs").enter();
    spanscope::baggage::set("tenant", "acme").unwrap();
    let producer_id = producer.context().unwrap().span_id.to_string();
    for job in 0..jobs {
        send.send((job, spanscope::capture())).unwrap();
    }
    producer.end();
    drop(send);
    let done = pool.into_iter().flat_map(|worker| worker.join().unwrap()).collect();
    (producer_id, done)
}

#[test]
fn jobs_sent_through_a_channel_continue_the_trace_in_a_worker_pool() {
    setup_in_memory(|config| config.propagators([]));
    let (producer_id, done) = run_pool(12, 3);
    assert_eq!(done.len(), 12);
    assert!(done.iter().all(|(_, tenant)| tenant.as_deref() == Some("acme")), "baggage travels: {done:?}");

    let spans = finished();
    let producer = spans.by_id(&producer_id);
    let jobs: Vec<_> = spans.iter().filter(|s| s.name == "handle job").collect();
    assert_eq!(jobs.len(), 12);
    for job in jobs {
        job.assert_child_of(producer);
        let link = job.link.expect("a segment begun from a capture links its parent");
        assert_eq!((link.trace_id, link.span_id), (producer.trace_id, producer.span_id));
        assert!(!link.is_remote, "a cross-thread reference");
    }
}

#[test]
fn a_context_captured_outside_any_span_starts_nothing_special() {
    setup_in_memory(|config| config.propagators([]));
    let captured = spanscope::capture();
    assert!(captured.span_context().is_none() && captured.baggage().is_none());
    // Even inside a span, its scope continues nothing: a span opened there begins a trace.
    let outer = spanscope::span::local("outer").enter();
    let current_inside = captured.scope(|| spanscope::current().trace_id());
    captured.scope(|| spanscope::span::local("uncaptured job").in_scope(|| ()));
    outer.end();
    assert_eq!(current_inside, None, "no span is current inside the scope");
    let spans = finished();
    let outer = spans.named("outer");
    let job = spans.named("uncaptured job");
    assert_eq!(job.parent_span_id, None, "a new trace");
    assert!(job.link.is_none(), "with no reference");
    assert_ne!(job.trace_id, outer.trace_id);
}

#[tokio::test]
async fn a_wrapped_future_continues_the_captured_span() {
    setup_in_memory(|config| config.propagators([]));
    let (captured, parent_id) = spanscope::span::local("captured for a task")
        .in_scope(|| (spanscope::capture(), spanscope::current().context().unwrap().span_id.to_string()));
    let child = captured.clone().wrap(async { spanscope::span::local("in task").in_scope(|| ()) });
    tokio::spawn(child).await.unwrap();
    let spans = finished();
    spans.named("in task").assert_child_of(spans.by_id(&parent_id));
}

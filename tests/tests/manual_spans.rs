//! Spans by hand (`spanscope::span::{local, entry, exit}`): names chosen at run time, the three
//! ways to start them, kinds, parents, tags, logs, errors, panics, propagation in and out.

use std::collections::HashMap;
use std::future::Future as _;
use std::time::Duration;

use spanscope::span;
use spanscope::ErrorInfo;
use spanscope_tests::{exported, setup, SpanSet, CLIENT, INTERNAL, SERVER};

spanscope::tags! {
    /// The tenant a job is for.
    pub tenant: String,
    pub items: u32 = "order.items",
}

#[spanscope::local(name = "macro child")]
fn macro_child() {}

#[test]
fn a_guard_records_name_kind_parent_tags_logs_and_context() {
    let dir = setup();
    let kind = "nightly";
    let mut root = span::entry(format!("job {kind}")).tag::<tenant>("acme".to_owned()).enter();
    root.tag::<items>(3);
    root.log("started");
    let context = root.context().expect("a recording span has a context");
    assert_eq!(spanscope::current().context(), Some(context), "the guard's span is current");
    span::local("step").in_scope(macro_child);
    let id = span::exit("GET /stock", "inventory:8080").in_scope(|| spanscope::current().context().unwrap());
    root.end();
    assert_eq!(spanscope::current().context(), None, "ending the guard leaves the span");

    let spans = exported(dir);
    let root = spans.named("job nightly");
    assert_eq!(root.span_id, context.span_id.to_string());
    assert_eq!(root.trace_id, context.trace_id.to_string());
    assert_eq!(root.kind, SERVER);
    assert_eq!(root.attributes["tenant"], "acme");
    assert_eq!(root.attributes["order.items"], 3);
    assert_eq!(root.events.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["started"]);
    let step = spans.named("step");
    assert_eq!(step.kind, INTERNAL);
    step.assert_child_of(root);
    spans.named("macro child").assert_child_of(step);
    let exit = spans.by_id(&id.span_id.to_string());
    assert_eq!((exit.name.as_str(), exit.kind), ("GET /stock", CLIENT));
    assert_eq!(exit.attributes["server.address"], "inventory");
    assert_eq!(exit.attributes["server.port"], 8080);
    exit.assert_child_of(root);
}

#[test]
fn record_error_and_panics_mark_the_span_failed() {
    let dir = setup();
    let mut failed = span::local("failed by hand").enter();
    failed.record_error(ErrorInfo::new("Timeout", "inventory did not answer"));
    failed.end();
    let panicked = std::panic::catch_unwind(|| span::local("panicked by hand").in_scope(|| panic!("boom by hand")));
    assert!(panicked.is_err());

    let spans = exported(dir);
    let failed = spans.named("failed by hand");
    assert_eq!(failed.status_code, 2);
    assert_eq!(failed.status_message.as_deref(), Some("inventory did not answer"));
    assert_eq!(failed.events.last().unwrap().1["exception.type"], "Timeout");
    let panicked = spans.named("panicked by hand");
    assert_eq!(panicked.status_code, 2);
    assert!(panicked.status_message.as_deref().unwrap().ends_with("boom by hand"));
}

#[test]
fn entry_continues_the_caller_and_exit_injects_its_own_context() {
    let dir = setup();
    let caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let incoming = HashMap::from([("traceparent".to_owned(), caller.to_owned())]);
    let mut outgoing: HashMap<String, String> = HashMap::new();
    span::entry("POST /orders").headers(&incoming).in_scope(|| {
        span::exit("POST /reserve", "inventory:8080").inject(&mut outgoing).in_scope(|| {});
    });

    let spans = exported(dir);
    let entry = spans.named("POST /orders");
    assert_eq!(entry.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(entry.parent_span_id.as_deref(), Some("00f067aa0ba902b7"));
    let exit = spans.named("POST /reserve");
    exit.assert_child_of(entry);
    let sent = &outgoing["traceparent"];
    assert_eq!(sent, &format!("00-{}-{}-01", exit.trace_id, exit.span_id), "the callee's parent is the exit span");
}

#[test]
fn malformed_headers_start_a_new_trace() {
    let dir = setup();
    let incoming = HashMap::from([("traceparent".to_owned(), "00-zz-not-a-context".to_owned())]);
    let trace = span::entry("GET /malformed")
        .headers(&incoming)
        .in_scope(|| spanscope::current().trace_id().unwrap().to_string());
    let spans = exported(dir);
    let entry = spans.named("GET /malformed");
    assert_eq!((entry.trace_id.as_str(), entry.parent_span_id.as_deref()), (trace.as_str(), None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instrumented_future_is_current_on_every_poll_across_threads() {
    let dir = setup();
    let root = span::local("instrumented root");
    let future = root.instrument(async {
        let before = std::thread::current().id();
        let mut threads = vec![before];
        for _ in 0..20 {
            // Leave the thread so the task may come back on another worker.
            tokio::task::spawn_blocking(|| std::thread::sleep(Duration::from_millis(1))).await.unwrap();
            threads.push(std::thread::current().id());
            assert!(spanscope::current().context().is_some(), "the span is current after every await");
        }
        span::local("inner").instrument(async { tokio::task::yield_now().await }).await;
        threads
    });
    // Move the not-yet-polled future to another task, and so possibly another thread.
    let threads = tokio::spawn(future).await.unwrap();
    assert!(spanscope::current().context().is_none(), "nothing leaks to the caller");

    let spans = exported(dir);
    let root = spans.named("instrumented root");
    spans.named("inner").assert_child_of(root);
    assert!(root.end >= root.start);
    // How many workers served the polls is up to tokio; the span was current on each of them.
    assert!(!threads.is_empty());
}

#[tokio::test]
async fn a_dropped_instrumented_future_ends_its_span() {
    let dir = setup();
    let pending = span::local("dropped by hand").instrument(std::future::pending::<()>());
    assert!(tokio::time::timeout(Duration::from_millis(2), pending).await.is_err());
    let spans = exported(dir);
    let dropped = spans.named("dropped by hand");
    assert!(dropped.end >= dropped.start);
}

#[test]
fn a_description_is_made_on_one_thread_and_started_on_another() {
    let dir = setup();
    let description = span::local("made here").tag::<tenant>("moved".to_owned());
    let id =
        std::thread::spawn(move || description.in_scope(|| spanscope::current().context().unwrap())).join().unwrap();
    let spans = exported(dir);
    let span = spans.named("made here");
    assert_eq!(span.span_id, id.span_id.to_string());
    assert_eq!(span.attributes["tenant"], "moved");
}

/// Pending on its first poll, ready on the next.
struct YieldOnce(bool);

impl std::future::Future for YieldOnce {
    type Output = ();

    fn poll(mut self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if std::mem::replace(&mut self.0, true) {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    }
}

#[test]
fn an_instrumented_future_polled_on_two_threads_stays_one_span() {
    let dir = setup();
    let mut future = Box::pin(span::local("polled on two threads").instrument(async {
        span::local("before the move").in_scope(|| ());
        YieldOnce(false).await;
        span::local("after the move").in_scope(|| ());
        std::thread::current().id()
    }));
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert!(future.as_mut().poll(&mut cx).is_pending());
    assert!(spanscope::current().context().is_none(), "the span is left between polls");
    let second = std::thread::spawn(move || {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(thread) => thread,
            std::task::Poll::Pending => panic!("ready on the second poll"),
        }
    })
    .join()
    .unwrap();
    assert_ne!(second, std::thread::current().id());

    let spans = exported(dir);
    let root = spans.named("polled on two threads");
    spans.named("before the move").assert_child_of(root);
    spans.named("after the move").assert_child_of(root);
}

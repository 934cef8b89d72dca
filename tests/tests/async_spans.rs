//! Async instrumented functions: nesting across awaits, tasks moving between threads,
//! interleaved tasks, `spawn`, `in_current_span`, threads, cancellation.

use std::time::Duration;

use spanscope::{entry, local, FutureExt};
use spanscope_tests::{exported, setup, SpanSet, INTERNAL, SERVER};

#[entry(name = "handle")]
async fn handle(request: u32) -> Result<u32, std::io::Error> {
    let a = step(request).await;
    let b = step(request + 1).await;
    let spawned = spanscope::spawn(background(request)).await.unwrap();
    if request == 13 {
        return Err(std::io::Error::other("unlucky"));
    }
    Ok(a + b + spawned)
}

#[local]
async fn step(n: u32) -> u32 {
    // Yield to the scheduler several times so the task may resume on another worker.
    for _ in 0..3 {
        tokio::task::yield_now().await;
    }
    n
}

#[local(name = "background")]
async fn background(n: u32) -> u32 {
    tokio::time::sleep(Duration::from_millis(1)).await;
    n * 10
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nesting_survives_awaits_and_spawn() {
    let dir = setup();
    let results = futures_join(vec![handle(1), handle(2), handle(3), handle(13)]).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 3);
    let spans = exported(dir);
    let roots: Vec<_> = spans.iter().filter(|s| s.name == "handle").collect();
    assert_eq!(roots.len(), 4);
    for root in roots {
        assert_eq!(root.kind, SERVER);
        let trace = spans.in_trace(&root.trace_id);
        assert_eq!(trace.len(), 4, "handle + 2 steps + background, nothing from other requests");
        for child in trace.iter().filter(|s| s.name != "handle") {
            child.assert_child_of(root);
            assert_eq!(child.kind, INTERNAL);
        }
        let background = trace.iter().find(|s| s.name == "background").unwrap();
        assert_eq!(spans.segment_head(background).name, "background", "a spawned task records its own segment");
        assert_eq!(spans.segment_head(root).span_id, root.span_id);
        let failed = root.status_code == 2;
        assert_eq!(failed, root.events.iter().any(|(_, f)| f["exception.message"] == "unlucky"));
    }
    assert_eq!(spans.iter().filter(|s| s.name == "handle" && s.status_code == 2).count(), 1);
}

/// Polls all futures concurrently on this task (interleaving them on one thread).
async fn futures_join<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).map(Some).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (slot, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if let Some(future) = slot {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => {
                        *output = Some(value);
                        *slot = None;
                    }
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}

#[entry(name = "with threads")]
fn with_threads() -> spanscope::TraceId {
    let handles: Vec<_> = (0..3).map(|i| spanscope::thread::spawn(move || worker(i))).collect();
    for handle in handles {
        handle.join().unwrap();
    }
    spanscope::current().trace_id().unwrap()
}

#[local(name = "worker")]
fn worker(i: u32) -> u32 {
    i
}

#[test]
fn threads_continue_the_trace() {
    let dir = setup();
    let trace = with_threads().to_string();
    let spans = exported(dir);
    let root = spans.named("with threads");
    let workers: Vec<_> = spans.in_trace(&trace).into_iter().filter(|s| s.name == "worker").collect();
    assert_eq!(workers.len(), 3);
    for worker in workers {
        worker.assert_child_of(root);
    }
}

#[entry(name = "detached")]
async fn detached() -> tokio::task::JoinHandle<()> {
    let inner = async {
        tokio::time::sleep(Duration::from_millis(5)).await;
        after_parent().await;
    };
    tokio::spawn(inner.in_current_span())
}

#[local(name = "after parent")]
async fn after_parent() {}

#[tokio::test]
async fn in_current_span_links_work_that_outlives_its_parent() {
    let dir = setup();
    detached().await.await.unwrap();
    let spans = exported(dir);
    let parent = spans.named("detached");
    let child = spans.named("after parent");
    assert_eq!(child.trace_id, parent.trace_id);
    assert_eq!(child.parent_span_id.as_deref(), Some(parent.span_id.as_str()));
    assert!(child.start >= parent.end, "the child ran after its parent ended");
}

#[local(name = "cancelled")]
async fn never_finishes() {
    std::future::pending::<()>().await;
}

#[entry(name = "with timeout")]
async fn with_timeout() {
    let timed_out = tokio::time::timeout(Duration::from_millis(2), never_finishes()).await;
    assert!(timed_out.is_err());
}

#[tokio::test]
async fn a_dropped_future_still_ends_its_span() {
    let dir = setup();
    with_timeout().await;
    let spans = exported(dir);
    let parent = spans.named("with timeout");
    let cancelled = spans.named("cancelled");
    cancelled.assert_child_of(parent);
    assert!(cancelled.end <= parent.end && cancelled.end >= cancelled.start);
}

#[local(name = "async panic")]
async fn async_panic() {
    tokio::task::yield_now().await;
    panic!("async boom");
}

#[tokio::test]
async fn a_panicking_task_ends_its_span_as_an_error() {
    let dir = setup();
    assert!(tokio::spawn(async_panic()).await.is_err());
    let spans = exported(dir);
    let span = spans.named("async panic");
    assert_eq!(span.status_code, 2);
    assert!(span.status_message.as_deref().unwrap().ends_with("async boom"));
}

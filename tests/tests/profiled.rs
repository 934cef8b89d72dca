//! `#[profiled]` tags: pushed for the body or for each poll, popped after, never leaking to
//! another task on the same thread, following a task across threads.

use std::time::Duration;

use spanscope::profiler::current_tags;
use spanscope::{profiled, TagValue};

spanscope::tags! {
    pub route: &'static str = "http.route",
    pub tenant: String,
    pub shard: u16,
}

fn tags() -> Vec<(&'static str, String)> {
    current_tags().into_iter().map(|(k, v)| (k, v.to_string())).collect()
}

// `&String` on purpose: the design's own example, whose `tenant.clone()` is the tag's `String`.
#[allow(clippy::ptr_arg)]
#[profiled(route = "checkout", tenant = tenant.clone())]
fn hot_loop(tenant: &String) -> Vec<(&'static str, String)> {
    nested()
}

#[profiled(tenant = "override".to_owned(), shard = 7)]
fn nested() -> Vec<(&'static str, String)> {
    tags()
}

#[test]
fn sync_tags_nest_and_pop() {
    assert!(current_tags().is_empty());
    let inside = hot_loop(&"acme".to_owned());
    assert_eq!(
        inside,
        [("shard", "7".to_owned()), ("tenant", "override".to_owned()), ("http.route", "checkout".to_owned())],
        "innermost value wins per key"
    );
    assert!(current_tags().is_empty(), "popped after the body");
}

#[profiled(route = "panics")]
fn panics() {
    panic!("inside profiled");
}

#[test]
fn tags_are_popped_by_a_panic() {
    assert!(std::panic::catch_unwind(panics).is_err());
    assert!(current_tags().is_empty());
}

#[profiled(tenant = name.to_owned())]
async fn tenant_task(name: &'static str, rounds: u32) -> u32 {
    let mut checked = 0;
    for _ in 0..rounds {
        assert_eq!(current_tags(), [("tenant", TagValue::from(name.to_owned()))]);
        tokio::task::yield_now().await;
        checked += 1;
    }
    checked
}

#[tokio::test(flavor = "current_thread")]
async fn interleaved_tasks_on_one_thread_keep_their_own_tags() {
    let a = tokio::spawn(tenant_task("a", 50));
    let b = tokio::spawn(tenant_task("b", 50));
    assert_eq!(a.await.unwrap() + b.await.unwrap(), 100);
    assert!(current_tags().is_empty(), "nothing leaks to the test's own task");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_follow_tasks_across_threads() {
    let tasks: Vec<_> = ["a", "b", "c", "d"]
        .into_iter()
        .map(|name| {
            tokio::spawn(async move {
                let sleepy = async {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    tenant_task(name, 20).await
                };
                sleepy.await
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 20);
    }
}

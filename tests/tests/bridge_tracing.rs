//! The `tracing` bridge: library code instrumented with `tracing` inside spanscope spans is
//! exported as their children, with its fields as attributes and its events as span events;
//! spans entered, re-entered and closed away from their segment stay harmless.

use std::sync::Once;

use spanscope::tracing::SpanExt as _;
use spanscope::{entry, local};
use spanscope_tests::{exported, ExportedSpan, SpanSet, CLIENT, INTERNAL, SERVER};
use tracing::Instrument as _;
use tracing_subscriber::layer::SubscriberExt as _;

spanscope::tags! {
    /// Set through `SpanExt` on whatever `tracing::Span::current()` is.
    pub tenant: &'static str = "tenant",
}

/// spanscope with the layer installed as the global `tracing` subscriber (every thread and
/// tokio worker sees it), its filter passing `debug!` events.
fn init() -> &'static std::path::Path {
    static SUBSCRIBER: Once = Once::new();
    SUBSCRIBER.call_once(|| {
        let subscriber = tracing_subscriber::registry().with(spanscope::tracing::layer());
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
    });
    spanscope_tests::setup_with(|config| config.logs_filter("debug"))
}

/// Code that knows only `tracing`.
mod library {
    #[tracing::instrument(name = "tr.load", fields(order = id, phase = "read"))]
    pub fn load(id: u64, label: &str) -> u64 {
        tracing::info!(rows = 3u64, cached = false, "loaded rows");
        double(id) + 1
    }

    #[tracing::instrument(name = "tr.double", fields(result = tracing::field::Empty))]
    fn double(id: u64) -> u64 {
        tracing::Span::current().record("result", id * 2);
        id * 2
    }

    #[tracing::instrument(name = "tr.fails", err)]
    pub fn fails() -> Result<(), String> {
        Err("disk full".to_owned())
    }

    #[tracing::instrument(name = "tr.fetch")]
    pub async fn fetch(key: u64) -> u64 {
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        tracing::debug!(key, "fetched");
        key
    }
}

fn children_of<'a>(spans: &'a [ExportedSpan], parent: &ExportedSpan) -> Vec<&'a ExportedSpan> {
    spans.iter().filter(|s| s.parent_span_id.as_deref() == Some(parent.span_id.as_str())).collect()
}

#[entry(name = "tr.handle")]
fn handle() -> u64 {
    let loaded = library::load(42, "orders");
    let _ = library::fails();
    tracing::info_span!("tr.wrapper").in_scope(priced) + loaded
}

#[local(name = "tr.priced")]
fn priced() -> u64 {
    tracing::warn!(percent = 12.5, "discount applied");
    7
}

#[test]
fn tracing_spans_nest_under_spanscope_spans_with_their_fields_and_events() {
    let dir = init();
    assert_eq!(handle(), 92);
    let spans = exported(dir);
    let root = spans.named("tr.handle");
    assert_eq!(root.kind, SERVER);
    assert_eq!(root.status_code, 0, "the failing span is a child; its error stays there");

    let load = spans.named("tr.load");
    load.assert_child_of(root);
    assert_eq!(load.kind, INTERNAL);
    assert_eq!(load.attributes["order"], 42);
    assert_eq!(load.attributes["id"], 42);
    assert_eq!(load.attributes["label"], "orders");
    assert_eq!(load.attributes["phase"], "read");
    let (name, fields) = &load.events[0];
    assert_eq!(name, "loaded rows");
    assert_eq!(fields["rows"], 3);
    assert_eq!(fields["cached"], false);
    assert_eq!(fields["level"], "INFO");
    assert_eq!(fields["target"], "bridge_tracing::library");

    let double = spans.named("tr.double");
    double.assert_child_of(load);
    assert_eq!(double.attributes["result"], 84, "recorded after creation");

    let fails = spans.named("tr.fails");
    fails.assert_child_of(root);
    assert_eq!(fails.status_code, 2);
    assert_eq!(fails.status_message.as_deref(), Some("disk full"));
    assert_eq!(fails.events[0].0, "exception");

    let wrapper = spans.named("tr.wrapper");
    wrapper.assert_child_of(root);
    let priced = spans.named("tr.priced");
    priced.assert_child_of(wrapper);
    let (name, fields) = &priced.events[0];
    assert_eq!(name, "discount applied", "events go to the current spanscope span");
    assert_eq!(fields["percent"], 12.5);
    assert_eq!(children_of(&spans, root).len(), 3);
}

#[test]
fn tracing_spans_and_events_outside_spanscope_spans_are_not_recorded() {
    let dir = init();
    tracing::info_span!("tr.outside").in_scope(|| tracing::info!("nobody listens"));
    assert_eq!(library::load(1, "outside"), 3);
    let spans = exported(dir);
    assert!(spans.iter().all(|s| s.name != "tr.outside"));
    assert!(spans.iter().filter(|s| s.name == "tr.load").all(|s| s.attributes["label"] == "orders"));
}

#[entry(name = "tr.special")]
fn special() {
    let span =
        tracing::info_span!("tr.raw", otel.name = "tr.renamed", otel.kind = "client", otel.status_code = "ERROR");
    span.in_scope(|| {});
    tracing::info_span!("tr.server", otel.kind = "Server").in_scope(|| {
        tracing::error!(code = 7, "went wrong");
    });
}

#[test]
fn otel_fields_rename_kind_and_fail_spans() {
    let dir = init();
    special();
    let spans = exported(dir);
    let root = spans.named("tr.special");
    let renamed = spans.named("tr.renamed");
    renamed.assert_child_of(root);
    assert_eq!(renamed.kind, CLIENT);
    assert_eq!(renamed.status_code, 2);
    assert!(!renamed.attributes.contains_key("otel.kind"));
    let server = spans.named("tr.server");
    assert_eq!(server.kind, SERVER);
    assert_eq!(server.status_code, 2, "an ERROR event fails its span");
    assert_eq!(server.events[0].1["level"], "ERROR");
}

#[entry(name = "tr.async")]
async fn serve() -> u64 {
    let fetched = library::fetch(5).await;
    let spawned = tokio::spawn(spawned_step().instrument(tracing::info_span!("tr.spawned"))).await.unwrap();
    fetched + spawned
}

#[local(name = "tr.spawned_local")]
async fn spawned_step() -> u64 {
    tokio::task::yield_now().await;
    tracing::info!("in the spawned task");
    1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instrumented_futures_nest_across_awaits_and_tasks() {
    let dir = init();
    assert_eq!(serve().await, 6);
    let spans = exported(dir);
    let root = spans.named("tr.async");
    let fetch = spans.named("tr.fetch");
    fetch.assert_child_of(root);
    assert_eq!(fetch.attributes["key"], 5);
    assert_eq!(fetch.events[0].0, "fetched");
    let spawned = spans.named("tr.spawned");
    spawned.assert_child_of(root);
    let local = spans.named("tr.spawned_local");
    local.assert_child_of(spawned);
    assert_ne!(
        spans.segment_head(local).span_id,
        spans.segment_head(root).span_id,
        "the spawned task records a segment of its own"
    );
    assert_eq!(local.events[0].0, "in the spawned task");
}

#[entry(name = "tr.moved")]
fn moved() -> (tracing::Span, Option<spanscope::SpanContext>) {
    let away = tracing::info_span!("tr.moved_away");
    std::thread::spawn(move || {
        let entered = away.enter();
        tracing::info!("on another thread");
        drop(entered);
        drop(away);
    })
    .join()
    .unwrap();
    let outlives = tracing::info_span!("tr.outlives");
    let context = outlives.spanscope_context();
    (outlives, context)
}

#[local(name = "tr.after")]
fn after() -> Option<spanscope::SpanContext> {
    spanscope::current().context()
}

#[test]
fn spans_entered_and_closed_away_from_their_segment_are_harmless() {
    let dir = init();
    let (outlives, context) = moved();
    // Entered after its segment ended, where no segment is installed: spanscope spans inside
    // continue the trace under it.
    let inside = outlives.in_scope(after).expect("a span under the outliving one");
    drop(outlives);
    let spans = exported(dir);
    let root = spans.named("tr.moved");
    let away = spans.named("tr.moved_away");
    away.assert_child_of(root);
    assert_eq!(away.end, root.end, "closed elsewhere: ended with its segment");
    assert!(away.events.is_empty(), "its segment was not installed on the other thread");
    let outliving = spans.named("tr.outlives");
    outliving.assert_child_of(root);
    assert_eq!(outliving.span_id, context.unwrap().span_id.to_string());
    let after = spans.by_id(&inside.span_id.to_string());
    assert_eq!(after.name, "tr.after");
    assert_eq!(after.parent_span_id.as_deref(), Some(outliving.span_id.as_str()));
    assert_eq!(after.trace_id, root.trace_id);
}

#[entry(name = "tr.reentered")]
fn reentered() -> [Option<spanscope::SpanContext>; 4] {
    let span = tracing::info_span!("tr.twice");
    let first = span.enter();
    let second = span.enter();
    let inner = after();
    let current = tracing::Span::current().spanscope_context();
    tracing::Span::current().set_spanscope_tag::<tenant>("acme");
    drop(second);
    let between = after();
    drop(first);
    // Not bridged: the spanscope span current here.
    tracing::Span::none().set_spanscope_tag::<tenant>("on the entry span");
    [inner, current, between, tracing::Span::none().spanscope_context()]
}

#[test]
fn reentered_spans_restore_the_current_span_and_span_ext_gives_the_ids() {
    let dir = init();
    let [inner, current, between, none] = reentered();
    let spans = exported(dir);
    let root = spans.named("tr.reentered");
    let twice = spans.named("tr.twice");
    twice.assert_child_of(root);
    assert_eq!(twice.attributes["tenant"], "acme");
    assert_eq!(root.attributes["tenant"], "on the entry span");
    assert_eq!(current.unwrap().span_id.to_string(), twice.span_id);
    assert_eq!(none.unwrap().span_id.to_string(), root.span_id, "not bridged: the current spanscope span");
    for context in [inner, between] {
        spans.by_id(&context.unwrap().span_id.to_string()).assert_child_of(twice);
    }
}

#[entry(name = "tr.explicit")]
fn explicit_parents() {
    let parent = tracing::info_span!("tr.explicit_parent");
    let _sibling = tracing::info_span!("tr.contextual").entered();
    tracing::info_span!(parent: &parent, "tr.explicit_child").in_scope(|| {});
    tracing::info!(parent: &parent, "to the explicit parent");
}

#[test]
fn explicit_parents_are_followed_when_bridged_in_the_same_segment() {
    let dir = init();
    explicit_parents();
    let spans = exported(dir);
    let root = spans.named("tr.explicit");
    let parent = spans.named("tr.explicit_parent");
    parent.assert_child_of(root);
    spans.named("tr.explicit_child").assert_child_of(parent);
    assert_eq!(parent.events[0].0, "to the explicit parent");
    assert!(spans.named("tr.contextual").events.is_empty());
}

#[entry(name = "tr.out_of_order")]
fn out_of_order() -> [Option<spanscope::SpanContext>; 2] {
    let (first, second) = (tracing::info_span!("tr.first"), tracing::info_span!("tr.second"));
    let entered_first = first.enter();
    let entered_second = second.enter();
    drop(entered_first);
    let inside_second = after();
    drop(entered_second);
    [inside_second, after()]
}

#[test]
fn spans_exited_out_of_order_restore_the_span_current_before_both() {
    let dir = init();
    let [inside_second, after_both] = out_of_order();
    let spans = exported(dir);
    let root = spans.named("tr.out_of_order");
    let second = spans.named("tr.second");
    second.assert_child_of(root);
    spans.named("tr.first").assert_child_of(root);
    spans.by_id(&inside_second.unwrap().span_id.to_string()).assert_child_of(second);
    spans.by_id(&after_both.unwrap().span_id.to_string()).assert_child_of(root);
}

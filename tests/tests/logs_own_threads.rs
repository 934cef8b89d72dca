//! Exporting never feeds itself: the gRPC client that delivers log records (h2 and tonic, on
//! spanscope's reporter thread) emits `tracing` events of its own, and with a filter that passes
//! them, none of them is exported, while the same libraries' events on the application's
//! threads (the in-process receiver's server side) are.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use spanscope_tests::collector::otlp::Collector;
use spanscope_tests::fresh_dir;
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::Layer;

/// Where events were emitted: each call site's `(file, line)`, and whether it was seen on
/// spanscope's reporter thread, on any other thread, or both.
#[derive(Debug, Default)]
struct Seen {
    on_reporter: BTreeSet<(String, u32)>,
    elsewhere: BTreeSet<(String, u32)>,
}

/// A layer beside spanscope's that notes the thread of every event.
struct Witness(Arc<Mutex<Seen>>);

impl<S: Subscriber> Layer<S> for Witness {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let metadata = event.metadata();
        let (Some(file), Some(line)) = (metadata.file(), metadata.line()) else { return };
        let mut seen = self.0.lock().unwrap();
        let set = match std::thread::current().name() {
            Some("spanscope-reporter") => &mut seen.on_reporter,
            _ => &mut seen.elsewhere,
        };
        set.insert((file.to_owned(), line));
    }
}

#[test]
fn the_exporters_own_client_events_are_never_exported() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let subscriber = tracing_subscriber::registry().with(spanscope::tracing::layer()).with(Witness(Arc::clone(&seen)));
    tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
    let collector = Collector::grpc();
    let guard = spanscope::try_init(
        spanscope::Config::new()
            .service_name("own-threads")
            .out_dir(fresh_dir("own-threads"))
            .exporters([])
            .var("OTEL_LOGS_EXPORTER", "otlp")
            .var("OTEL_BLRP_SCHEDULE_DELAY", "20")
            .var("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url())
            .logs_filter("trace"),
    )
    .expect("spanscope init");
    for round in 0..5 {
        tracing::info!(round, "application record");
        assert!(spanscope::flush(), "flush");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(guard);

    let seen = seen.lock().unwrap();
    let only_on_reporter: BTreeSet<_> = seen.on_reporter.difference(&seen.elsewhere).cloned().collect();
    assert!(!only_on_reporter.is_empty(), "the client emits events of its own on the reporter thread: {seen:?}");
    let received = collector.received.lock().unwrap();
    let exported: Vec<(String, u32)> = received
        .log_records()
        .filter_map(|(_, record)| {
            let attributes: HashMap<&str, &Value> = record
                .attributes
                .iter()
                .filter_map(|kv| Some((kv.key.as_str(), kv.value.as_ref()?.value.as_ref()?)))
                .collect();
            match (attributes.get("code.file.path"), attributes.get("code.line.number")) {
                (Some(Value::StringValue(file)), Some(Value::IntValue(line))) => {
                    Some((file.clone(), u32::try_from(*line).ok()?))
                }
                _ => None,
            }
        })
        .collect();
    let looped: Vec<_> = exported.iter().filter(|site| only_on_reporter.contains(*site)).collect();
    assert!(
        looped.is_empty(),
        "{} records of the exporter's own client were exported, the first: {:?}",
        looped.len(),
        &looped[..looped.len().min(3)]
    );
    let application = exported.iter().filter(|(file, _)| file.ends_with("logs_own_threads.rs")).count();
    assert_eq!(application, 5, "every application record arrived");
    assert!(
        exported.iter().any(|site| seen.elsewhere.contains(site) && !site.0.ends_with("logs_own_threads.rs")),
        "the same libraries' events on the application's threads are exported ({} records)",
        exported.len()
    );
}

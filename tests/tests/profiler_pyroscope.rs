//! The Pyroscope exporter against a receiver in the test that decodes what it receives: the
//! push API's gzipped `PushRequest` (series labels, the gzipped pprof inside, its tags), basic
//! auth and the tenant header, a retry after a 503, the legacy `/ingest` API, HTTPS with a
//! self-signed certificate, and a bounded backlog while the server never answers.

use std::time::{Duration, Instant};

use http::StatusCode;
use spanscope::profiled;
use spanscope::profiler::{ProfilerConfig, ProfilesExporter};
use spanscope_tests::collector::pyroscope::{Received, Receiver};
use spanscope_tests::collector::{black_hole, tls};
use spanscope_tests::fresh_dir;
use spanscope_tests::profiles::{burn_for, decode, flatten, sampler_lock};

spanscope::tags! {
    pub route: &'static str = "http.route",
}

/// How long a request may take to arrive.
const PATIENCE: Duration = Duration::from_secs(10);

#[inline(never)]
fn spin() {
    std::hint::black_box((0..20_000u64).fold(0u64, |a, i| std::hint::black_box(a ^ i)));
}

#[profiled(route = "checkout")]
fn checkout() {
    burn_for(Duration::from_millis(300), spin);
}

/// Profiling to Pyroscope at `url` with the variables `vars` (through `Config::var`, so the
/// tests need not touch the process environment); one window for the whole run.
fn config(url: &str, vars: &[(&str, &str)]) -> spanscope::Config {
    let profiler = ProfilerConfig::new()
        .exporters([ProfilesExporter::Pyroscope])
        .pyroscope_address(url)
        .interval(Duration::from_secs(3600));
    let config = spanscope::Config::new().service_name("pyro-test").exporters([]).profiler(profiler);
    vars.iter().fold(config, |config, (name, value)| config.var(*name, *value))
}

fn run(config: spanscope::Config) {
    let guard = spanscope::init(config);
    checkout();
    drop(guard);
}

const AUTH: [(&str, &str); 4] = [
    ("PYROSCOPE_BASIC_AUTH_USER", "user"),
    ("PYROSCOPE_BASIC_AUTH_PASSWORD", "pass"),
    ("PYROSCOPE_TENANT_ID", "team-a"),
    ("PYROSCOPE_TAGS", "env=test,region=eu"),
];

/// Decodes a push: its series labels, and its one profile's samples under `spin` all tagged.
fn check_push(push: &Received) -> Vec<(String, String)> {
    let pushed = push.pushed();
    let profile = decode(&pushed.profile);
    assert_eq!(profile.period, 10_000_000);
    let samples = flatten(&profile);
    let tagged = samples.iter().filter(|s| s.has("profiler_pyroscope::spin")).collect::<Vec<_>>();
    assert!(!tagged.is_empty() && tagged.iter().all(|s| s.label("http.route") == Some("checkout")), "{samples:?}");
    pushed.labels
}

#[test]
fn pushes_with_auth_tenant_and_tags_and_retries_after_a_503() {
    let _lock = sampler_lock();
    let receiver = Receiver::http(vec![StatusCode::SERVICE_UNAVAILABLE]);
    let before = spanscope::stats();
    run(config(receiver.url(), &AUTH));
    let failed = receiver.requests.recv_timeout(PATIENCE).expect("a first attempt");
    let push = receiver.requests.recv_timeout(PATIENCE).expect("a retry after the 503");
    assert_eq!(failed.body, push.body, "the retry sends the same request");
    let after = spanscope::stats();
    assert_eq!(after.profiles_retried - before.profiles_retried, 1);
    assert_eq!(after.profiles_exported - before.profiles_exported, 1);
    assert_eq!(push.header("authorization"), Some("Basic dXNlcjpwYXNz"));
    assert_eq!(push.header("x-scope-orgid"), Some("team-a"));
    let labels = check_push(&push);
    let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(labels, [("__name__", "process_cpu"), ("service_name", "pyro-test"), ("env", "test"), ("region", "eu")]);
}

#[test]
fn ingests_through_the_legacy_api() {
    let _lock = sampler_lock();
    let receiver = Receiver::http(Vec::new());
    let mut vars = AUTH.to_vec();
    vars.push(("SPANSCOPE_PYROSCOPE_API", "ingest"));
    run(config(receiver.url(), &vars));
    let ingest = receiver.requests.recv_timeout(PATIENCE).expect("an ingest request");
    assert!(
        ingest.target.starts_with("/ingest?name=pyro-test%7Benv%3Dtest%2Cregion%3Deu%7D&from="),
        "{}",
        ingest.target
    );
    assert!(ingest.target.contains("&format=pprof&sampleRate=100&spyName=spanscope"), "{}", ingest.target);
    assert_eq!(ingest.header("authorization"), Some("Basic dXNlcjpwYXNz"));
    assert_eq!(ingest.header("content-encoding"), None, "the body is the gzipped pprof itself");
    let samples = flatten(&decode(&ingest.body));
    assert!(samples.iter().any(|s| s.has("profiler_pyroscope::spin") && s.label("http.route") == Some("checkout")));
}

#[test]
fn pushes_over_https_with_a_self_signed_certificate() {
    let _lock = sampler_lock();
    let cert = tls::self_signed(&fresh_dir("pyroscope-tls"));
    let receiver = Receiver::https(&cert);
    let ca = cert.cert_path.display().to_string();
    let before = spanscope::stats().profiles_exported;
    run(config(receiver.url(), &[("SPANSCOPE_PYROSCOPE_CERTIFICATE", ca.as_str())]));
    let push = receiver.requests.recv_timeout(PATIENCE).expect("a push over TLS");
    check_push(&push);
    assert_eq!(spanscope::stats().profiles_exported - before, 1);
}

#[test]
fn a_server_that_never_answers_costs_a_bounded_backlog() {
    let _lock = sampler_lock();
    let server = black_hole();
    let before = spanscope::stats();
    // A window every 100 ms (the shortest), so many more than the backlog pile up.
    let profiler = ProfilerConfig::new()
        .exporters([ProfilesExporter::Pyroscope])
        .pyroscope_address(format!("http://{}", server.addr))
        .interval(Duration::from_millis(100));
    let config = spanscope::Config::new().exporters([]).profiler(profiler).shutdown_timeout(Duration::from_millis(500));
    let guard = spanscope::init(config);
    burn_for(Duration::from_millis(1500), spin);
    let stopping = Instant::now();
    drop(guard);
    assert!(stopping.elapsed() < Duration::from_secs(3), "shutdown took {:?}", stopping.elapsed());
    let after = spanscope::stats();
    let evicted = after.profiles_dropped_backend_down - before.profiles_dropped_backend_down;
    let at_shutdown = after.profiles_dropped_shutdown - before.profiles_dropped_shutdown;
    assert!(evicted > 0, "the oldest windows are dropped beyond the backlog: {after:?}");
    assert!((1..=6).contains(&at_shutdown), "at most the backlog is left at shutdown: {after:?}");
    assert_eq!(after.profiles_exported, before.profiles_exported);
}

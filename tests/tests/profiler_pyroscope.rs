//! The Pyroscope exporter against an HTTP server in the test that decodes what it receives:
//! the push API's gzipped `PushRequest` (series labels, the gzipped pprof inside, its tags),
//! basic auth and the tenant header, a retry after a 503, and the legacy `/ingest` API.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use prost::Message as _;
use spanscope::profiled;
use spanscope::profiler::proto::push::v1::PushRequest;
use spanscope::profiler::{ProfilerConfig, ProfilesExporter};
use spanscope_tests::profiles::{burn_for, decode, flatten, gunzip, sampler_lock};

spanscope::tags! {
    pub route: &'static str = "http.route",
}

#[derive(Debug)]
struct Request {
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A server answering each request with the next status of `statuses` (then 200), sending
/// every request it read to the returned channel. Stops by itself after 30 s.
fn serve(statuses: Vec<u16>) -> (String, mpsc::Receiver<Request>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    let statuses = Arc::new(Mutex::new(statuses.into_iter()));
    listener.set_nonblocking(false).unwrap();
    std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        for stream in listener.incoming() {
            if std::time::Instant::now() > deadline {
                return;
            }
            let Ok(mut stream) = stream else { continue };
            stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let target = line.split_whitespace().nth(1).unwrap_or_default().to_owned();
            let mut headers = Vec::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                let (k, v) = line.split_once(':').unwrap();
                headers.push((k.trim().to_owned(), v.trim().to_owned()));
            }
            let length: usize = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-length")).unwrap().1.parse().unwrap();
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let status = statuses.lock().unwrap().next().unwrap_or(200);
            let _ = write!(stream, "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = tx.send(Request { target, headers, body });
        }
    });
    (format!("http://{address}"), rx)
}

#[inline(never)]
fn spin() {
    std::hint::black_box((0..20_000u64).fold(0u64, |a, i| std::hint::black_box(a ^ i)));
}

#[profiled(route = "checkout")]
fn checkout() {
    burn_for(Duration::from_millis(300), spin);
}

fn run(address: &str) {
    let config = spanscope::Config::new()
        .service_name("pyro-test")
        .exporters([])
        .profiler(
            ProfilerConfig::new()
                .exporters([ProfilesExporter::Pyroscope])
                .pyroscope_address(address)
                .interval(Duration::from_secs(3600)),
        );
    let guard = spanscope::init(config);
    checkout();
    drop(guard);
}

#[test]
fn pushes_and_ingests_decodable_profiles_with_auth_tenant_and_retry() {
    let _lock = sampler_lock();
    // This binary has this one test, so nothing else reads the environment meanwhile.
    std::env::set_var("PYROSCOPE_BASIC_AUTH_USER", "user");
    std::env::set_var("PYROSCOPE_BASIC_AUTH_PASSWORD", "pass");
    std::env::set_var("PYROSCOPE_TENANT_ID", "team-a");
    std::env::set_var("PYROSCOPE_TAGS", "env=test,region=eu");

    let (address, requests) = serve(vec![503]);
    let retried = spanscope::stats().profiles_retried;
    run(&address);
    let failed = requests.recv_timeout(Duration::from_secs(10)).expect("a first attempt");
    let push = requests.recv_timeout(Duration::from_secs(10)).expect("a retry after the 503");
    assert_eq!(failed.body, push.body, "the retry sends the same request");
    assert!(spanscope::stats().profiles_retried > retried);
    assert_eq!(push.target, "/push.v1.PusherService/Push");
    assert_eq!(push.header("content-type"), Some("application/proto"));
    assert_eq!(push.header("content-encoding"), Some("gzip"));
    assert_eq!(push.header("authorization"), Some("Basic dXNlcjpwYXNz"));
    assert_eq!(push.header("x-scope-orgid"), Some("team-a"));
    let request = PushRequest::decode(gunzip(&push.body).as_slice()).expect("a PushRequest");
    let [series] = request.series.as_slice() else { panic!("one series: {request:?}") };
    let labels: Vec<(&str, &str)> = series.labels.iter().map(|l| (l.name.as_str(), l.value.as_str())).collect();
    assert_eq!(labels, [("__name__", "process_cpu"), ("service_name", "pyro-test"), ("env", "test"), ("region", "eu")]);
    let [sample] = series.samples.as_slice() else { panic!("one profile") };
    assert_eq!(sample.id.len(), 36, "a UUID");
    let profile = decode(&sample.raw_profile);
    assert_eq!(profile.period, 10_000_000);
    let samples = flatten(&profile);
    let tagged = samples.iter().filter(|s| s.has("profiler_pyroscope::spin")).collect::<Vec<_>>();
    assert!(!tagged.is_empty() && tagged.iter().all(|s| s.label("http.route") == Some("checkout")), "{samples:?}");

    std::env::set_var("SPANSCOPE_PYROSCOPE_API", "ingest");
    let (address, requests) = serve(vec![]);
    run(&address);
    let ingest = requests.recv_timeout(Duration::from_secs(10)).expect("an ingest request");
    std::env::remove_var("SPANSCOPE_PYROSCOPE_API");
    assert!(ingest.target.starts_with("/ingest?name=pyro-test%7Benv%3Dtest%2Cregion%3Deu%7D&from="), "{}", ingest.target);
    assert!(ingest.target.contains("&format=pprof&sampleRate=100&spyName=spanscope"), "{}", ingest.target);
    assert_eq!(ingest.header("authorization"), Some("Basic dXNlcjpwYXNz"));
    let samples = flatten(&decode(&ingest.body));
    assert!(samples.iter().any(|s| s.has("profiler_pyroscope::spin") && s.label("http.route") == Some("checkout")));
}

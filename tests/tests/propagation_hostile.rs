//! The most costly headers a caller can send, through a real hyper server behind `ServerLayer`
//! reading every propagation format: each request is answered with the caller's trace
//! continued, what is kept and counted is exact, and handling it allocates no more than a plain
//! request with the same bytes in a header spanscope does not read.
//!
//! Allocations are counted on the test's thread, where the current-thread runtime runs the
//! client, the server and the extraction alike (the reporter thread is not counted). They stand
//! in for the work done: every member parsed used to allocate its key and value, so a 100 KB
//! `baggage` of tiny keys made tens of thousands of allocations (and re-read the whole 8 KB
//! budget for each key). A clock would be a noisy judge of the same thing.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use spanscope::tower::ServerLayer;
use spanscope::{Propagator, Stats};
use spanscope_tests::headers::members;
use spanscope_tests::http::serve_http1;
use spanscope_tests::setup_with;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Counts the allocations of each thread.
struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every call is passed on to the system allocator unchanged; counting touches only a
// thread-local `Cell` without a destructor, which never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract for `alloc` is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through `alloc` or `realloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: as for `dealloc`, and `new_size` is the caller's to check.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
/// About what a hostile header may weigh: hyper takes requests of up to about 400 KB.
const HOSTILE_LEN: usize = 100 * 1024;

/// Serves, on a new loopback port, the trace id the request continued, its baggage's size, and
/// the length of the `tracestate` it would forward.
async fn server() -> SocketAddr {
    let service = tower::service_fn(|_: Request<Incoming>| async {
        let trace = spanscope::current().context().map_or_else(|| "none".to_owned(), |c| c.trace_id.to_string());
        let mut outgoing = http::HeaderMap::new();
        spanscope::inject(&mut outgoing);
        let tracestate = outgoing.get("tracestate").map_or(0, |v| v.len());
        let body = format!("{trace} {} {tracestate}", spanscope::baggage::entries().len());
        Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from(body))))
    });
    serve_http1(ServerLayer::new(), service).await
}

/// Sends a GET with `fields` (and a valid `traceparent`) on a new connection; the answer's body
/// and the allocations this thread made meanwhile.
async fn send(addr: SocketAddr, fields: &[(&str, String)]) -> (String, u64) {
    let mut request = format!("GET / HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ntraceparent: {TRACEPARENT}\r\n");
    for (name, value) in fields {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut response = Vec::with_capacity(4096);
    let before = ALLOCATIONS.with(Cell::get);
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.read_to_end(&mut response).await.unwrap();
    let allocations = ALLOCATIONS.with(Cell::get) - before;
    let response = String::from_utf8(response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{}", &response[..response.len().min(200)]);
    let body = response.split_once("\r\n\r\n").unwrap().1.to_owned();
    (body, allocations)
}

/// A hostile request, and the plain one it is measured against: the fields kept, then padding
/// of the same length in as many fields, named so that no format reads them.
struct Case {
    name: &'static str,
    hostile: Vec<(&'static str, String)>,
    plain: Vec<(&'static str, String)>,
    /// The body the server answers: trace id, baggage entries, forwarded `tracestate` length.
    answer: String,
    /// What the request adds to `baggage_entries_dropped` and `baggage_malformed`.
    counted: (u64, u64),
}

impl Case {
    fn new(name: &'static str, hostile: Vec<(&'static str, String)>, kept: Vec<(&'static str, String)>) -> Self {
        let padding = hostile.iter().enumerate().filter_map(|(i, (_, value))| {
            let len = value.len() - kept.get(i).map_or(0, |(_, kept)| kept.len());
            (len > 0).then(|| ("x-padding", "p".repeat(len)))
        });
        let plain = kept.iter().cloned().chain(padding).collect();
        Case { name, hostile, plain, answer: String::new(), counted: (0, 0) }
    }

    fn answers(mut self, baggage: usize, tracestate: usize, dropped: u64, malformed: u64) -> Self {
        self.answer = format!("{TRACE_ID} {baggage} {tracestate}");
        self.counted = (dropped, malformed);
        self
    }
}

fn cases() -> Vec<Case> {
    // Our own member, `spanscope=p:<16 hex>`.
    let own = 28;
    let big = format!("big={}", "x".repeat(8100));
    let keys: Vec<String> = (0..63).map(|i| format!("k{i:02}=1")).collect();
    let full: Vec<String> = (0..64).map(|i| format!("k{i}=1")).collect();
    let tracestate: Vec<String> = (0..32).map(|i| format!("{i:0>256}={}", "v".repeat(256))).collect();
    let fields: Vec<(&'static str, String)> =
        (0..64).map(|f| ("baggage", members(HOSTILE_LEN / 64, "", |i| format!("f{f:02}k{i:03}=1")))).collect();
    let junk = "9-,;=% ".repeat(20 * 1024 / 7);
    let every_field: Vec<(&'static str, String)> = Propagator::ALL
        .iter()
        .flat_map(|p| p.fields())
        .filter(|f| **f != "traceparent")
        .map(|f| (*f, junk.clone()))
        .collect();
    vec![
        // The budget nearly full, then tiny keys: each used to re-read the whole budget. The
        // first 16 fill it to 8190 bytes; the rest, past the 8192 bytes read, counts as one.
        Case::new(
            "baggage full, then tiny keys",
            vec![("baggage", members(HOSTILE_LEN, &big, |i| format!("k{i}=1")))],
            vec![("baggage", members(8192, &big, |i| format!("k{i}=1")))],
        )
        .answers(17, own, 1, 0),
        // 63 keys of one length, then the same keys over and over: a scan compared each with all.
        Case::new(
            "63 keys, repeated",
            vec![("baggage", members(HOSTILE_LEN, &keys.join(","), |i| keys[i % 63].clone()))],
            vec![("baggage", keys.join(","))],
        )
        .answers(63, own, 1, 0),
        // 64 entries, then new keys: past the 64 members read, the rest counts as one.
        Case::new(
            "64 entries, then new keys",
            vec![("baggage", members(HOSTILE_LEN, &full.join(","), |i| format!("n{i:04}=1")))],
            vec![("baggage", full.join(","))],
        )
        .answers(64, own, 1, 0),
        // The field repeated 64 times (hyper takes at most 100 fields), each of 160 members: 64
        // are read and kept, the rest counts as one.
        Case::new("baggage in 64 fields", fields.clone(), vec![fields[0].clone()]).answers(64, own, 1, 0),
        // The largest valid `tracestate`: 32 members of 513 bytes, of which 31 travel on after
        // ours.
        Case::new(
            "largest tracestate",
            vec![("tracestate", tracestate.join(","))],
            vec![("tracestate", tracestate.join(","))],
        )
        .answers(0, own + 31 * 514, 0, 0),
        // Junk in every field of every format: 64 malformed `baggage` members (`9-` and
        // `;=% 9-`) are read, the rest counts as one.
        Case::new("every field junk", every_field, vec![]).answers(0, own, 1, 64),
    ]
}

fn counted(before: &Stats, after: &Stats) -> (u64, u64) {
    (after.baggage_entries_dropped - before.baggage_entries_dropped, after.baggage_malformed - before.baggage_malformed)
}

// One test: the counters are process-wide.
#[tokio::test]
async fn hostile_headers_cost_what_a_plain_request_of_their_size_costs() {
    setup_with(|config| config.propagators(Propagator::ALL));
    let addr = server().await;
    // Warm up: the first request sets up what every later one reuses.
    send(addr, &[]).await;
    for case in cases() {
        let (_, plain) = send(addr, &case.plain).await;
        let before = spanscope::stats();
        let (answer, hostile) = send(addr, &case.hostile).await;
        let after = spanscope::stats();
        assert!(
            hostile <= plain + 8,
            "{}: {hostile} allocations, against {plain} for a plain request of the same size",
            case.name
        );
        assert_eq!(answer, case.answer, "{}", case.name);
        assert_eq!(counted(&before, &after), case.counted, "{}: (dropped, malformed)", case.name);
    }
}

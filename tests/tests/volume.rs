//! Nothing is lost under load: 8 threads each make 10,000 spans (1,000 requests of 10 spans),
//! all exported exactly once. The queue holds the whole burst, as a bounded queue must be sized
//! to; `accounting.rs` shows what happens when it cannot.

use std::collections::HashSet;

use spanscope::{entry, local};
use spanscope_tests::{exported, setup_with};

const THREADS: usize = 8;
const REQUESTS: usize = 1_000;
const SPANS_PER_REQUEST: usize = 10;

#[entry(name = "request")]
fn request() {
    for _ in 0..SPANS_PER_REQUEST - 1 {
        step();
    }
}

#[local(name = "step")]
fn step() {}

#[test]
fn eight_threads_of_ten_thousand_spans_arrive_exactly_once() {
    let dir = setup_with(|c| c.max_queue_size(THREADS * REQUESTS));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            std::thread::spawn(|| {
                for _ in 0..REQUESTS {
                    request();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let spans = exported(dir);
    assert_eq!(spans.len(), THREADS * REQUESTS * SPANS_PER_REQUEST);
    let unique: HashSet<(&str, &str)> = spans.iter().map(|s| (s.trace_id.as_str(), s.span_id.as_str())).collect();
    assert_eq!(unique.len(), spans.len(), "no span twice");
    let traces: HashSet<&str> = spans.iter().map(|s| s.trace_id.as_str()).collect();
    assert_eq!(traces.len(), THREADS * REQUESTS);
    let stats = spanscope::stats();
    assert_eq!(stats.spans_exported as usize, spans.len());
    assert_eq!(stats.spans_dropped_queue_full + stats.spans_dropped_segment_full, 0);
}

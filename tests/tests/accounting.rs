//! When the queue is full, spans are dropped, never waited for, and every one is counted; and a
//! segment over its span limit keeps its first spans and counts the rest.

use spanscope::{entry, local};
use spanscope_tests::{exported, setup_with};

#[entry(name = "burst")]
fn burst(children: usize) {
    for _ in 0..children {
        child();
    }
}

#[local(name = "child")]
fn child() {}

#[test]
fn every_span_is_exported_or_counted() {
    let dir = setup_with(|c| c.max_queue_size(4).max_spans_per_segment(50));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(|| {
                for _ in 0..2_000 {
                    burst(3);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert!(spanscope::flush());
    burst(100);
    let written = exported(dir).len() as u64;
    let stats = spanscope::stats();
    assert_eq!(stats.spans_exported, written);
    assert!(stats.spans_dropped_queue_full > 0, "a 4-slot queue overflows under this burst");
    assert_eq!(stats.spans_exported + stats.spans_dropped_queue_full, 4 * 2_000 * 4 + 50);
    assert_eq!(stats.spans_dropped_segment_full, 51, "101 spans in a 50-span segment");
}

//! Hostile input: every header in `corpus/malformed/` (and generated oversized ones) is ignored
//! without a panic, a fresh trace starts, and the reason is counted. The files also hold what
//! the fuzz targets in `fuzz/` found worth keeping.

use std::collections::HashMap;

use spanscope::{Extractor, Propagator, Stats};

/// A carrier of raw bytes, so the corpus can hold what no `HeaderMap` would accept.
struct RawHeaders(Vec<(String, Vec<u8>)>);

impl Extractor for RawHeaders {
    fn values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]>
    where
        Self: 'a,
    {
        let name = name.to_owned();
        self.0.iter().filter(move |(k, _)| k.eq_ignore_ascii_case(&name)).map(|(_, v)| v.as_slice())
    }
}

fn unescape(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"\\x") && i + 4 <= bytes.len() {
            out.push(u8::from_str_radix(&text[i + 2..i + 4], 16).expect("\\xNN escape"));
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

fn requests(file: &str) -> Vec<RawHeaders> {
    let path = format!("{}/corpus/malformed/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            RawHeaders(
                line.split(" || ")
                    .map(|field| {
                        let (name, value) = field.split_once(": ").unwrap_or((field.trim_end_matches(':'), ""));
                        (name.to_owned(), unescape(value))
                    })
                    .collect(),
            )
        })
        .collect()
}

fn rejected_by(format: Propagator, stats: &Stats) -> u64 {
    match format {
        Propagator::TraceContext => stats.traceparent_malformed + stats.traceparent_duplicate,
        Propagator::Sw8 => stats.sw8_malformed + stats.sw8_oversized + stats.sw8_duplicate,
        Propagator::Datadog => stats.datadog_malformed,
        _ => stats.b3_malformed,
    }
}

fn assert_all_rejected(format: Propagator, requests: &[RawHeaders]) {
    for (i, request) in requests.iter().enumerate() {
        let before = rejected_by(format, &spanscope::stats());
        assert!(spanscope::extract_with(&[format], request).is_none(), "{format} accepted request {i}");
        let after = rejected_by(format, &spanscope::stats());
        assert_eq!(after, before + 1, "{format} request {i} was not counted exactly once");
    }
}

// One test: the counters are process-wide, so the checks must not interleave.
#[test]
fn malformed_headers_are_ignored_and_counted() {
    assert_all_rejected(Propagator::TraceContext, &requests("traceparent.txt"));
    assert_all_rejected(Propagator::Sw8, &requests("sw8.txt"));
    assert_all_rejected(Propagator::Datadog, &requests("datadog.txt"));
    let b3 = requests("b3.txt");
    let (single, multi): (Vec<_>, Vec<_>) = b3.into_iter().partition(|r| r.0[0].0 == "b3");
    assert_all_rejected(Propagator::B3, &single);
    assert_all_rejected(Propagator::B3Multi, &multi);

    let oversized =
        format!("1-{}-NQ==-3-bWVzaA==-aW5zdGFuY2U=-L2FwaS92MS9oZWFsdGg=-ZXhhbXBsZS5jb206ODA4MA==", "QUFB".repeat(520));
    let before = spanscope::stats().sw8_oversized;
    assert!(spanscope::extract_with(&[Propagator::Sw8], &HashMap::from([("sw8".to_owned(), oversized)])).is_none());
    assert_eq!(spanscope::stats().sw8_oversized, before + 1);

    // Long inputs cost time in proportion to their length, not more: a 1 MB header of every
    // format is handled (and rejected) like any other.
    let huge = "9".repeat(1 << 20);
    for (format, name) in [
        (Propagator::TraceContext, "traceparent"),
        (Propagator::Sw8, "sw8"),
        (Propagator::Datadog, "x-datadog-trace-id"),
        (Propagator::B3, "b3"),
    ] {
        let carrier =
            HashMap::from([(name.to_owned(), huge.clone()), ("x-datadog-parent-id".to_owned(), huge.clone())]);
        assert!(spanscope::extract_with(&[format], &carrier).is_none(), "{format}");
    }
    let baggage = HashMap::from([("baggage".to_owned(), "k=v,".repeat(1 << 18))]);
    let remote = spanscope::extract_with(
        &[Propagator::TraceContext, Propagator::Baggage],
        &HashMap::from([
            ("traceparent".to_owned(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned()),
            ("baggage".to_owned(), baggage["baggage"].clone()),
        ]),
    )
    .unwrap();
    assert_eq!(remote.baggage().len(), 1, "repeated keys merge; limits hold");
}

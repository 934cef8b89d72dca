#![no_main]
//! `baggage` (with a valid `traceparent`, so the baggage is kept and checked): any bytes.

use spanscope::Propagator;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut input = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\n".to_vec();
    input.extend_from_slice(data);
    let headers = spanscope_fuzz::FuzzHeaders::new(&["traceparent", "baggage"], &input);
    if let Some(context) = spanscope::extract_with(&[Propagator::TraceContext, Propagator::Baggage], &headers) {
        assert!(context.baggage().len() <= 64);
    }
});

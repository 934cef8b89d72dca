#![no_main]
//! `traceparent`: any bytes in any of its fields.

libfuzzer_sys::fuzz_target!(|data: &[u8]| spanscope_fuzz::extract(spanscope::Propagator::TraceContext, data));

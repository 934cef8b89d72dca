#![no_main]
//! `sw8`: any bytes in any of its fields.

libfuzzer_sys::fuzz_target!(|data: &[u8]| spanscope_fuzz::extract(spanscope::Propagator::Sw8, data));

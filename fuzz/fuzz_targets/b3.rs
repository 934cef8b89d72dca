#![no_main]
//! B3, single and multi-header: any bytes in any of their fields.

use spanscope::Propagator;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    spanscope_fuzz::extract(Propagator::B3, data);
    spanscope_fuzz::extract(Propagator::B3Multi, data);
});

//! Every case under `ui/pass` must compile (under `#![deny(warnings)]`) and run; every case under
//! `ui/fail` must fail with exactly the pinned `.stderr`. Regenerate the pins with
//! `TRYBUILD=overwrite cargo test -p spanscope-ui-tests`, then read each one.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("ui/pass/*.rs");
    t.compile_fail("ui/fail/*.rs");
}

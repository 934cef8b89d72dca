//! Header values for the hostile-input tests and benchmarks. Dependency-free: the benchmarks
//! include this file as it is (`#[path]`), so the cases they measure are built the way the
//! tests that check them are.

/// `first`, then `member(0)`, `member(1)`, ... joined with commas, up to `len` bytes: the long
/// list-valued headers (`baggage`, `tracestate`) of the hostile-input tests and benchmarks.
pub fn members(len: usize, first: &str, member: impl Fn(usize) -> String) -> String {
    let mut out = first.to_owned();
    for i in 0.. {
        let next = member(i);
        if out.len() + 1 + next.len() > len {
            break;
        }
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(&next);
    }
    out
}

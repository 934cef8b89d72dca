//! The median of a benchmark's repeated measurements and its 95% confidence interval, shared by
//! the `alloc` bench and the `alloc-overhead` bin (each includes this file with `#[path]`, this
//! crate having no library).

/// The median of `values` (sorted in place) and the order statistics `n/2 ± 1.96·√n/2` around it,
/// which hold the true median with a probability of about 95% whatever the distribution (at least
/// that for fewer than 6 values, where they are the lowest and the highest).
pub fn median_interval(values: &mut [f64]) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let k = ((n as f64 - 1.96 * (n as f64).sqrt()) / 2.0).floor().max(0.0) as usize;
    (values[n / 2], values[k], values[n - 1 - k])
}

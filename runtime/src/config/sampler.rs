//! Head sampling: whether a new trace is recorded, decided once where it begins in this
//! process and followed by every span of the trace here and downstream.

use crate::id::TraceId;

/// Which traces are recorded. Names follow `OTEL_TRACES_SAMPLER`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Sampler {
    /// Record every trace (`always_on`).
    AlwaysOn,
    /// Record no trace (`always_off`); contexts still propagate, marked unsampled.
    AlwaysOff,
    /// Record this fraction of traces, chosen by trace id (`traceidratio`).
    TraceIdRatio(f64),
    /// Follow the parent's decision; record every new trace (`parentbased_always_on`, the default).
    #[default]
    ParentBasedAlwaysOn,
    /// Follow the parent's decision; record this fraction of new traces (`parentbased_traceidratio`).
    ParentBasedTraceIdRatio(f64),
}

/// The decision for a segment beginning under `parent` (if any) in trace `trace_id`.
pub(crate) fn should_sample(sampler: &Sampler, parent_sampled: Option<bool>, trace_id: TraceId) -> bool {
    match (sampler, parent_sampled) {
        (Sampler::AlwaysOn, _) => true,
        (Sampler::AlwaysOff, _) => false,
        (Sampler::TraceIdRatio(ratio), _) => ratio_admits(*ratio, trace_id),
        (Sampler::ParentBasedAlwaysOn | Sampler::ParentBasedTraceIdRatio(_), Some(sampled)) => sampled,
        (Sampler::ParentBasedAlwaysOn, None) => true,
        (Sampler::ParentBasedTraceIdRatio(ratio), None) => ratio_admits(*ratio, trace_id),
    }
}

/// The OpenTelemetry rule: compare the trace id's low 63 random bits with the ratio, so every
/// service with the same ratio makes the same decision for the same trace.
fn ratio_admits(ratio: f64, trace_id: TraceId) -> bool {
    if ratio >= 1.0 {
        return true;
    }
    let bound = (ratio.max(0.0) * (1u64 << 63) as f64) as u64;
    ((trace_id.to_int() as u64) >> 1) < bound
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_is_close_to_the_requested_fraction() {
        let sampled = (0..100_000).filter(|_| ratio_admits(0.25, TraceId::random())).count();
        assert!((23_000..27_000).contains(&sampled), "{sampled}");
        assert!(!ratio_admits(0.0, TraceId::random()));
        assert!(ratio_admits(1.0, TraceId::random()));
    }
}

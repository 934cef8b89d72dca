//! The current trace's baggage: entries that travel with the trace to every service it
//! reaches, as W3C `baggage` and as SkyWalking `sw8-correlation` (at most 3 entries of at most
//! 128 bytes there, as the SkyWalking agents enforce).
//!
//! Entries live in the current segment, so they follow the trace into spawned tasks and
//! threads; set outside any span, there is nothing to carry them.

use crate::propagation::BaggageError;
use crate::span::current;

/// The value of `key` in the current trace's baggage.
pub fn get(key: &str) -> Option<String> {
    current::with_segment(|segment, _| segment.propagated.baggage.get(key).map(str::to_owned)).flatten()
}

/// Sets `key` to `value` in the current trace's baggage, for this segment and everything it
/// calls or spawns from now on.
pub fn set(key: impl Into<String>, value: impl Into<String>) -> Result<(), BaggageError> {
    let (key, value) = (key.into(), value.into());
    current::with_segment(|segment, _| segment.propagated.baggage.insert(key, value))
        .unwrap_or(Err(BaggageError::NoCurrentSpan))
}

/// Removes `key` from the current trace's baggage; returns its value.
pub fn remove(key: &str) -> Option<String> {
    current::with_segment(|segment, _| segment.propagated.baggage.remove(key)).flatten()
}

/// Every entry of the current trace's baggage, in order.
pub fn entries() -> Vec<(String, String)> {
    current::with_segment(|segment, _| {
        segment.propagated.baggage.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
    })
    .unwrap_or_default()
}

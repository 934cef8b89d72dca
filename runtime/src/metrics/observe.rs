//! Observable instruments: callbacks registered once and run by the collector, each reporting
//! its instrument's current values through an [`Observer`].
//!
//! Callbacks run on the reporter thread, without the registry's lock (a callback may record
//! into other instruments), each inside `catch_unwind`: a panicking callback loses its own
//! observations of that collection, is counted, and runs again at the next.

use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Mutex, PoisonError};

use super::attributes::{self, AttributeSchema, OwnedSet};
use super::meta::{InstrumentMeta, MetricValue};
use super::registry::InstrumentCore;
use crate::stats::{self, Counter};
use crate::tag::{TagMeta, TagValue};

/// What an observable instrument's callback reports through: one value per attribute set.
pub struct Observer<'o, V: MetricValue, S: AttributeSchema> {
    observations: &'o mut Observations,
    types: PhantomData<fn(V, S)>,
}

impl<'o, V: MetricValue, S: AttributeSchema> Observer<'o, V, S> {
    pub(crate) fn new(observations: &'o mut Observations) -> Self {
        Self { observations, types: PhantomData }
    }

    /// Reports `value` for the series of `attributes`: the sum so far of an observable counter,
    /// the current value of a gauge. NaN and infinities are dropped and counted.
    pub fn record(&mut self, value: V, attributes: S::Attributes<'_>) {
        if !value.to_f64().is_finite() {
            return super::cell::invalid();
        }
        let set = attributes::to_owned(&attributes);
        let exported = attributes::exported::<S::Attributes<'_>>(&set);
        self.observations.values.push(Observation { set, exported, bits: value.to_bits() });
    }
}

impl<V: MetricValue, S: AttributeSchema> std::fmt::Debug for Observer<'_, V, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observer").field("observations", &self.observations.values.len()).finish()
    }
}

/// What one callback reported in one collection.
#[derive(Debug, Default)]
pub(crate) struct Observations {
    pub values: Vec<Observation>,
}

/// One reported value.
#[derive(Debug)]
pub(crate) struct Observation {
    pub set: OwnedSet,
    pub exported: Vec<(&'static TagMeta, TagValue)>,
    pub bits: u64,
}

type Callback = Box<dyn Fn(&mut Observations) + Send + Sync>;

/// Registered callbacks, by instrument number.
static CALLBACKS: Mutex<Vec<(u32, &'static InstrumentCore, Callback)>> = Mutex::new(Vec::new());

/// Registers the callback of the instrument `id`, unless it already is.
pub(crate) fn register(
    id: u32,
    core: &'static InstrumentCore,
    callback: impl Fn(&mut Observations) + Send + Sync + 'static,
) {
    let mut callbacks = CALLBACKS.lock().unwrap_or_else(PoisonError::into_inner);
    if callbacks.iter().all(|(registered, ..)| *registered != id) {
        callbacks.push((id, core, Box::new(callback)));
    }
}

/// Runs every callback; returns each instrument's observations.
pub(crate) fn run() -> Vec<(u32, &'static InstrumentCore, Observations)> {
    let callbacks = CALLBACKS.lock().unwrap_or_else(PoisonError::into_inner);
    let mut results = Vec::with_capacity(callbacks.len());
    for (id, core, callback) in callbacks.iter() {
        let mut observations = Observations::default();
        match catch_unwind(AssertUnwindSafe(|| callback(&mut observations))) {
            Ok(()) => results.push((*id, *core, observations)),
            Err(_) => {
                // The panic hook already printed the panic; this says what it cost.
                if stats::get(Counter::MetricCallbacksFailed) == 0 {
                    stderr_line!(
                        "spanscope: the callback of the observable instrument {} panicked; its values are left out of this collection (said once; counted in stats().metric_callbacks_failed)",
                        core.meta.name
                    );
                }
                stats::add(Counter::MetricCallbacksFailed, 1);
            }
        }
    }
    results
}

/// An observable counter, up-down counter or gauge declared with `metrics!`: its callback
/// reports values at each collection, once [`register`](Self::register) was called.
pub struct Observable<V: MetricValue, S: AttributeSchema> {
    core: InstrumentCore,
    callback: fn(&mut Observer<'_, V, S>),
}

impl<V: MetricValue, S: AttributeSchema> std::fmt::Debug for Observable<V, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observable").field("core", &self.core).finish_non_exhaustive()
    }
}

impl<V: MetricValue, S: AttributeSchema> Observable<V, S> {
    #[doc(hidden)]
    pub const fn new(meta: &'static InstrumentMeta, callback: fn(&mut Observer<'_, V, S>)) -> Self {
        Self { core: InstrumentCore::new(meta), callback }
    }

    /// Has the callback called at every collection from now on. Idempotent.
    pub fn register(&'static self) {
        let id = self.core.id();
        register(id, &self.core, move |observations| {
            let mut observer = Observer::new(observations);
            (self.callback)(&mut observer);
        });
    }
}

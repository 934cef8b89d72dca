//! The process-wide registry: instrument numbers, series slots and their attributes.
//!
//! Everything here is behind one lock and off the hot path: an instrument's first recording
//! registers it, a thread's first recording of an attribute set resolves its slot, and the
//! collector reads the lists.
//!
//! Slots are never freed: a series keeps its slot (and its cumulative value) for the life of
//! the process. Each instrument keeps at most the cardinality limit of attribute sets; past it,
//! recordings go to its overflow series, `otel.metric.overflow = true`, as OpenTelemetry's SDK
//! specification says.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::attributes::{self, AttributeSet, OwnedSet};
use super::meta::InstrumentMeta;
use super::snapshot::Attributes;
use crate::stats::{self, Counter};
use crate::tag::{TagMeta, TagValue};

/// What every instrument static holds: its declaration, and its number once registered.
#[derive(Debug)]
pub struct InstrumentCore {
    pub(crate) meta: &'static InstrumentMeta,
    /// The instrument's number plus one; zero until its first recording registers it.
    id: AtomicU32,
}

impl InstrumentCore {
    pub(crate) const fn new(meta: &'static InstrumentMeta) -> Self {
        Self { meta, id: AtomicU32::new(0) }
    }

    /// The instrument's number, registering it on first use.
    #[inline]
    pub(crate) fn id(&'static self) -> u32 {
        match self.id.load(Ordering::Acquire) {
            0 => self.register(),
            id => id - 1,
        }
    }

    #[cold]
    fn register(&'static self) -> u32 {
        register(self, |id| self.id.store(id + 1, Ordering::Release))
    }
}

/// The attribute sets an instrument keeps by default.
pub(crate) const DEFAULT_CARDINALITY_LIMIT: usize = 2000;

/// Whether recordings are kept: set by `init` when metrics are exported, cleared at shutdown.
static ENABLED: AtomicBool = AtomicBool::new(false);
/// The attribute sets an instrument keeps; applies to sets first seen from then on.
static LIMIT: AtomicUsize = AtomicUsize::new(DEFAULT_CARDINALITY_LIMIT);

/// Series per process, over all instruments.
pub(crate) const MAX_SLOTS: usize = 1 << 17;

static REGISTRY: Mutex<Registry> = Mutex::new(Registry { instruments: Vec::new(), slots: Vec::new() });

/// The instruments and series of the process.
pub(crate) struct Registry {
    pub instruments: Vec<Instrument>,
    /// By slot.
    pub slots: Vec<Slot>,
}

/// A registered instrument.
pub(crate) struct Instrument {
    pub core: &'static InstrumentCore,
    /// Its kept attribute sets.
    series: HashMap<OwnedSet, u32>,
    /// Its overflow series, made at its first set over the limit.
    overflow: Option<u32>,
}

/// A series: its instrument and attributes.
pub(crate) struct Slot {
    pub instrument: u32,
    pub attributes: Attributes,
}

/// The registry, locked. A panic while it was held left it consistent (every change is one push
/// or insert), so poisoning is ignored.
pub(crate) fn lock() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Turns recording on or off for the process.
pub(crate) fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Release);
}

/// Whether recordings are kept.
#[inline]
pub(crate) fn enabled() -> bool {
    ENABLED.load(Ordering::Acquire)
}

/// Sets the cardinality limit of every instrument, for sets first seen from now on.
pub(crate) fn set_cardinality_limit(limit: usize) {
    LIMIT.store(limit, Ordering::Relaxed);
}

/// Registers `core` unless it already is; `publish` stores its number, under the lock so that
/// two threads' first recordings agree.
pub(crate) fn register(core: &'static InstrumentCore, publish: impl FnOnce(u32)) -> u32 {
    let mut registry = lock();
    if let Some(id) = registry.instruments.iter().position(|instrument| std::ptr::eq(instrument.core, core)) {
        return id as u32;
    }
    let id = registry.instruments.len() as u32;
    registry.instruments.push(Instrument { core, series: HashMap::new(), overflow: None });
    publish(id);
    id
}

/// The slot of a recording that goes nowhere: every slot of the process is taken.
pub(crate) const NO_SLOT: u32 = u32::MAX;

/// Where a thread's recording of a set goes, and whether the thread may keep the answer.
pub(crate) struct Resolved {
    /// [`NO_SLOT`] when the process has no slot left for the instrument's overflow series.
    pub slot: u32,
    /// False for the overflow series: a thread keeps only sets under the limit, so an explosion
    /// of sets grows no table.
    pub keep: bool,
}

/// The slot of `set` of the instrument `id`, made if new and under the limit.
pub(crate) fn resolve<A: AttributeSet>(core: &'static InstrumentCore, id: u32, set: &OwnedSet) -> Resolved {
    resolve_with(core, id, set, || attributes::exported::<A>(set))
}

/// [`resolve`] for a set whose exported attributes are built by `exported`.
pub(crate) fn resolve_with(
    core: &'static InstrumentCore,
    id: u32,
    set: &OwnedSet,
    exported: impl FnOnce() -> Vec<(&'static TagMeta, TagValue)>,
) -> Resolved {
    let mut registry = lock();
    let registry = &mut *registry;
    let instrument = &mut registry.instruments[id as usize];
    debug_assert!(std::ptr::eq(instrument.core, core));
    if let Some(&slot) = instrument.series.get(set) {
        return Resolved { slot, keep: true };
    }
    if instrument.series.len() < LIMIT.load(Ordering::Relaxed) && registry.slots.len() < MAX_SLOTS {
        let slot = registry.slots.len() as u32;
        registry.slots.push(Slot { instrument: id, attributes: exported().into() });
        instrument.series.insert(set.clone(), slot);
        return Resolved { slot, keep: true };
    }
    stats::add(Counter::MetricMeasurementsOverflowed, 1);
    let slot = match instrument.overflow {
        Some(slot) => slot,
        None => {
            let overflow = Slot { instrument: id, attributes: Arc::new([(overflow_key(), TagValue::Bool(true))]) };
            if registry.slots.len() >= MAX_SLOTS {
                stats::add(Counter::MetricSeriesOverCapacity, 1);
                return Resolved { slot: NO_SLOT, keep: false };
            }
            registry.slots.push(overflow);
            let slot = registry.slots.len() as u32 - 1;
            instrument.overflow = Some(slot);
            slot
        }
    };
    Resolved { slot, keep: false }
}

/// The slot of `attributes`, for a bound handle: resolved once, at bind time, as the
/// specification asks.
pub(crate) fn slot_of<A: AttributeSet>(core: &'static InstrumentCore, attributes: &A) -> u32 {
    let id = core.id();
    let set = attributes::to_owned(attributes);
    resolve::<A>(core, id, &set).slot
}

fn overflow_key() -> &'static TagMeta {
    static KEY: TagMeta = TagMeta::new("otel_metric_overflow", "otel.metric.overflow");
    &KEY
}

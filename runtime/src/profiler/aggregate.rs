//! One window of samples, counted by distinct stack and label set.
//!
//! Runs on the collector thread: each drained sample's stack and labels are interned and its
//! value added; nothing is symbolised here. CPU windows count timer periods (`u64`); allocation
//! windows count estimated objects and bytes (`alloc::aggregate::Amounts`).

use std::collections::HashMap;
use std::ops::AddAssign;
use std::time::SystemTime;

use super::ring::Sample;

/// A sample's labels, in a fixed order: its tags (innermost value per key), then `span_id`,
/// `trace_id` and `trace_endpoint` when it ran in a sampled span.
pub(crate) type Labels = Vec<(&'static str, String)>;

/// The labels of `sample`.
pub(crate) fn labels(sample: &Sample) -> Labels {
    let mut labels: Labels = sample.tags.tags().into_iter().map(|(key, value)| (key, value.to_string())).collect();
    if let Some(span) = sample.span.labels() {
        labels.push(("span_id", span.span_id.to_string()));
        labels.push(("trace_id", span.trace_id.to_string()));
        labels.push(("trace_endpoint", span.endpoint));
    }
    labels
}

/// The values of one window, per stack and label set.
#[derive(Debug)]
pub(crate) struct Window<V> {
    pub start: SystemTime,
    stack_ids: HashMap<Box<[u64]>, usize>,
    pub stacks: Vec<Box<[u64]>>,
    label_ids: HashMap<Labels, usize>,
    pub label_sets: Vec<Labels>,
    /// `(stack, label set) → value`.
    pub counts: HashMap<(usize, usize), V>,
}

impl<V: Default + AddAssign> Window<V> {
    pub(crate) fn new(start: SystemTime) -> Self {
        Self {
            start,
            stack_ids: HashMap::new(),
            stacks: Vec::new(),
            label_ids: HashMap::new(),
            label_sets: Vec::new(),
            counts: HashMap::new(),
        }
    }

    /// Adds `value` to the stack and labels of `sample`.
    pub(crate) fn add(&mut self, sample: &Sample, value: V) {
        self.add_to(sample.stack(), labels(sample), value);
    }

    /// Adds `value` to `stack` with `labels`.
    pub(crate) fn add_to(&mut self, stack: &[u64], labels: Labels, value: V) {
        let stack = intern(&mut self.stack_ids, &mut self.stacks, stack);
        let labels = match self.label_ids.get(&labels) {
            Some(&id) => id,
            None => {
                self.label_sets.push(labels.clone());
                self.label_ids.insert(labels, self.label_sets.len() - 1);
                self.label_sets.len() - 1
            }
        };
        *self.counts.entry((stack, labels)).or_default() += value;
    }

    /// Whether nothing was added.
    pub(crate) fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}

impl Window<u64> {
    /// Timer periods counted so far.
    pub(crate) fn samples(&self) -> u64 {
        self.counts.values().sum()
    }
}

fn intern(ids: &mut HashMap<Box<[u64]>, usize>, list: &mut Vec<Box<[u64]>>, stack: &[u64]) -> usize {
    if let Some(&id) = ids.get(stack) {
        return id;
    }
    list.push(stack.into());
    ids.insert(stack.into(), list.len() - 1);
    list.len() - 1
}

//! One window of samples, counted by distinct stack and label set.
//!
//! Runs on the collector thread: each drained sample's stack and labels are interned and its
//! count bumped; nothing is symbolised here.

use std::collections::HashMap;
use std::time::SystemTime;

use super::ring::Sample;

/// A sample's labels, in a fixed order: its tags (innermost value per key), then `span_id`,
/// `trace_id` and `trace_endpoint` when it ran in a sampled span.
pub(crate) type Labels = Vec<(&'static str, String)>;

/// The counts of one window.
#[derive(Debug)]
pub(crate) struct Window {
    pub start: SystemTime,
    stack_ids: HashMap<Box<[u64]>, usize>,
    pub stacks: Vec<Box<[u64]>>,
    label_ids: HashMap<Labels, usize>,
    pub label_sets: Vec<Labels>,
    /// `(stack, label set) → timer periods`.
    pub counts: HashMap<(usize, usize), u64>,
}

impl Window {
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

    /// Counts one sample.
    pub(crate) fn add(&mut self, sample: &Sample) {
        let stack = intern(&mut self.stack_ids, &mut self.stacks, sample.stack());
        let mut labels: Labels = sample.tags.tags().into_iter().map(|(key, value)| (key, value.to_string())).collect();
        if let Some(span) = sample.span.labels() {
            labels.push(("span_id", span.span_id.to_string()));
            labels.push(("trace_id", span.trace_id.to_string()));
            labels.push(("trace_endpoint", span.endpoint));
        }
        let labels = match self.label_ids.get(&labels) {
            Some(&id) => id,
            None => {
                self.label_sets.push(labels.clone());
                self.label_ids.insert(labels, self.label_sets.len() - 1);
                self.label_sets.len() - 1
            }
        };
        *self.counts.entry((stack, labels)).or_default() += sample.weight;
    }

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

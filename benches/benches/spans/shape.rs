//! The one batch shape every library is measured with.
//!
//! One criterion iteration = open one root span, call an instrumented function `n` times under
//! it (each call opens and closes one child span), close the root. The group's throughput is
//! `Elements(n)`, so criterion reports time per child span; with `n = 100` the root's cost is
//! spread over 100 spans, with `n = 1` it is paid in full. Every peer implements [`Peer`] and
//! is driven by [`bench`], so the loop, the `black_box`es and the naming are the same for all.

use std::hint::black_box;

use criterion::measurement::WallTime;
use criterion::BenchmarkGroup;

/// Children per root measured by the bench: the single-span case and the batch case.
pub const SHAPES: [u64; 2] = [1, 100];

/// A tracing library set up for measurement.
pub trait Peer {
    /// What a child needs from its root: `()` for libraries with an ambient (thread-local)
    /// current span, the trace context for libraries that pass it explicitly (SkyWalking).
    type Root;

    /// Opens a root span, runs `body` under it, closes the root.
    fn in_root(&self, body: impl FnOnce(&mut Self::Root));

    /// Calls one instrumented function (one child span open and close) and returns its result.
    fn child(&self, root: &mut Self::Root, input: u64) -> u64;
}

/// Sets a peer up, measures it as `id` in `group` (see [`bench`]), then drops it, so only the
/// library being measured has its background threads running.
pub fn run<P: Peer>(group: &mut BenchmarkGroup<'_, WallTime>, id: &str, n: u64, setup: impl FnOnce() -> P) {
    let peer = setup();
    bench(group, id, n, &peer);
    drop(peer);
}

/// Registers `id` in `group`: each iteration is one root with `n` children.
pub fn bench<P: Peer>(group: &mut BenchmarkGroup<'_, WallTime>, id: &str, n: u64, peer: &P) {
    group.bench_function(id, |b| {
        b.iter(|| {
            peer.in_root(|root| {
                for i in 0..n {
                    black_box(peer.child(root, black_box(i)));
                }
            });
        });
    });
}

//! The allocation overhead run's workload (`alloc_churn.rs`) on jemalloc, its heap profiling
//! compiled in (this crate's `tikv-jemallocator` has `profiling`) and left off: the baseline of
//! `alloc-churn-jemalloc-prof`.

#[path = "../alloc_churn.rs"]
mod alloc_churn;

#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    alloc_churn::main();
}

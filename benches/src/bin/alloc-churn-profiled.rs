//! The allocation overhead run's workload (`alloc_churn.rs`) on spanscope's `Profiled<System>`:
//! with `--init` it samples allocations at the configured rate, without it only counts down.

#[path = "../alloc_churn.rs"]
mod alloc_churn;

#[global_allocator]
static ALLOC: spanscope::alloc::Profiled<std::alloc::System> = spanscope::alloc::Profiled::new(std::alloc::System);

fn main() {
    alloc_churn::main();
}

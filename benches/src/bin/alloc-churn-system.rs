//! The allocation overhead run's workload (`alloc_churn.rs`) on the C library's malloc, the
//! baseline of `alloc-churn-profiled` and `alloc-churn-dhat`.

#[path = "../alloc_churn.rs"]
mod alloc_churn;

#[global_allocator]
static ALLOC: std::alloc::System = std::alloc::System;

fn main() {
    alloc_churn::main();
}

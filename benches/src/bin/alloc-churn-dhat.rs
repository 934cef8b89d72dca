//! The allocation overhead run's workload (`alloc_churn.rs`) under dhat's heap profiler, as its
//! documentation sets it up, writing its profile to a temporary file that it then removes.

#[path = "../alloc_churn.rs"]
mod alloc_churn;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn main() {
    let file = alloc_churn::scratch_dir().with_extension("dhat.json");
    let profiler = dhat::Profiler::builder().file_name(&file).build();
    alloc_churn::main();
    // Written here, as a user's profile is: when the profiler drops at the end of `main`.
    drop(profiler);
    let _ = std::fs::remove_file(&file);
}

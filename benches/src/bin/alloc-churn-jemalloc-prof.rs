//! The allocation overhead run's workload (`alloc_churn.rs`) on jemalloc with heap profiling on,
//! under pyroscope-rs's jemalloc backend, set up as that backend's documentation does:
//! `prof:true,prof_active:true` in jemalloc's `malloc_conf` at jemalloc's default sample rate
//! (`lg_prof_sample:19`, one sample per 512 KiB on average, spanscope's default too), and an agent
//! started before the work and stopped after it. The agent pushes to a closed local port, so its
//! uploads fail (and it logs nothing: no logger is installed).

#[path = "../alloc_churn.rs"]
mod alloc_churn;

#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read at its first allocation: what pyroscope-rs's backend documents.
#[export_name = "_rjem_malloc_conf"]
static MALLOC_CONF: &[u8; 45] = b"prof:true,prof_active:true,lg_prof_sample:19\0";

fn main() {
    use pyroscope::backend::jemalloc::jemalloc_backend;
    let agent = pyroscope::pyroscope::PyroscopeAgentBuilder::new(
        "http://127.0.0.1:9",
        "alloc-churn",
        100,
        "pyroscope-rs",
        "2",
        jemalloc_backend(),
    )
    .build()
    .expect("pyroscope agent")
    .start()
    .expect("pyroscope agent start (jemalloc profiling on)");
    alloc_churn::main();
    agent.stop().expect("pyroscope agent stop").shutdown();
}

//! Starting tasks and threads that continue the current trace.

#[cfg(feature = "tokio")]
use super::FutureExt;

/// Spawns `future` on the current tokio runtime, in the current span context: spans it opens
/// continue this trace, linked to the current span by a cross-thread reference.
#[cfg(feature = "tokio")]
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(future.in_current_span())
}

/// Threads that continue the current trace.
pub mod thread {
    /// Spawns an OS thread running `f` in the current span context: spans it opens continue
    /// this trace, linked to the current span by a cross-thread reference.
    pub fn spawn<F, T>(f: F) -> std::thread::JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let context = crate::span::capture();
        std::thread::spawn(move || context.scope(f))
    }
}

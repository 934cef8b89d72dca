//! The profiler's view of the program: the tags active on each thread.
//!
//! `#[profiled(route = "checkout")]` pushes its tags on the calling thread's [tag
//! state](tag_state) for the duration of the body (sync) or of each poll (async), so a CPU
//! sample taken at any instant can read exactly the tags in force there. The state is a fixed
//! array of plain words written by the owning thread only, which is what makes it readable
//! from a signal handler on that thread.

pub(crate) mod tag_state;
pub(crate) mod with_tags;

pub use tag_state::current_tags;

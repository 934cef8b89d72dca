//! Compile-pass and compile-fail cases of the spanscope macros, run by `tests/ui.rs` with trybuild.
//! This library is empty; it exists so that the generated test projects can depend on this crate.

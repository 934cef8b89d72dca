//! End-to-end tests of spanscope; see `tests/`.

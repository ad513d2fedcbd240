//! Test support for cross-process tests.

//! The contract suite (placeholder).

//! Switchyard node.

//! Drives the built-in backends through `switchyard_backend::serve`, as a node does, and checks
//! what a client would see: results, errors, and the messages that precede them.

mod demo_bookings;
mod demo_cancel;
mod demo_catalogue;
mod demo_db;
mod demo_prompts;
mod demo_resources;
mod demo_tools;
mod everything_catalogue;
mod everything_client_requests;
mod everything_diagnostics;
mod everything_elicitation_schemas;
mod everything_mrtr_basic;
mod everything_mrtr_rounds;
mod everything_prompts;
mod everything_resources;
mod everything_tools;
mod support;

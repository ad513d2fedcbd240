//! The Streamable HTTP and HTTP+SSE wire rules, checked with raw HTTP against a real node.
//!
//! # Layout
//!
//! - `support`: a raw client (initialize, requests in a session, JSON-or-SSE answers).
//! - `rejections`: every malformed or disallowed request gets its precise status and code.
//! - `sessions`: notifications, DELETE, batches per revision, the one standalone GET stream.
//! - `streams`: SSE event ids and `Last-Event-ID` resumption.
//! - `legacy_sse`: the 2024-11-05 `/sse` + `/messages` endpoints.

mod legacy_sse;
mod rejections;
mod sessions;
mod streams;
mod support;

//! Pure MCP protocol pieces: everything Switchyard needs to understand bytes on the wire,
//! with no async runtime and no I/O, so that every parser here can be fuzzed and
//! property-tested in isolation.
//!
//! # Layout
//!
//! - [`jsonrpc`]: JSON-RPC 2.0 messages, the classifier that turns a POST body into a
//!   single message or a batch, and the standard/MCP error codes.
//! - [`depth`]: how deeply a JSON text nests, found before parsing it.
//! - [`method`]: MCP method names as a type.
//! - [`revision`]: the protocol revisions Switchyard serves, their eras, version negotiation.
//! - [`headers`]: `Accept`, `Content-Type`, `Mcp-Session-Id` and `Origin`/`Host` rules.
//! - [`sse`]: a Server-Sent Events encoder and an incremental decoder over `BytesMut`.
//! - [`event_id`]: the SSE event-id codec (epoch, stream, position).
//! - [`stateless`]: the stateless 2026-07-28 revision: `_meta` keys and header/body rules.
//! - [`envelope`]: the bus envelope nodes (and applications) publish to each other.

pub mod depth;
pub mod envelope;
pub mod event_id;
pub mod headers;
pub mod jsonrpc;
pub mod method;
pub mod revision;
pub mod sse;
pub mod stateless;

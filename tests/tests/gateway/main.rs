//! Real MCP servers behind Switchyard (`switchyard-upstream`): every upstream and every node
//! is a real process on a loopback port, started and stopped by the test.
//!
//! - `plain`: the Rails-style plain JSON-RPC fixture (`tests/fixtures/plain_jsonrpc.py`)
//!   behind three nodes on Redis and nginx; credentials from the environment, the client's
//!   `Authorization` never passed on; a hanging upstream times out; an upstream that speaks
//!   only 2026-07-28 is refused at start; one down at start is detected on first use.
//! - `streamable`: a Switchyard node serving `everything` as a Streamable HTTP upstream
//!   behind three nodes: progress relayed, one upstream session per client session however
//!   the requests spread (racing nodes make one), DELETE ends it upstream; an upstream
//!   restarted mid-session is re-initialized transparently; a 2026-07-28 client is served
//!   through the node's own upstream session.
//! - `federation`: three upstreams with colliding names and a 70-character one: unique
//!   names of at most 64 characters, the same on every node and after a restart; one of two
//!   upstreams down fails fast with an error naming it while the other works.
//! - `sdk`: a TypeScript SDK v1 server and a Python SDK server with sessions (not Switchyard)
//!   behind three nodes:
//!   progress, resources, prompts, and a sampling request answered through another node.
//! - `conformance`: `--requirements 2025-11-25` through three nodes in front of an
//!   `everything` upstream: the same tally as directly against it.
//! - `stdio`: a stdio server (`tests/fixtures/stdio_server.py`) spawned once per node,
//!   shared by its sessions, progress relayed, restarted after SIGKILL.
//! - `changes`: an upstream's `resources/updated` and `tools/list_changed`, sent while
//!   answering on one node, reach a GET stream on another.
//! - `support`: a raw Streamable HTTP client.

mod changes;
mod conformance;
mod federation;
mod plain;
mod sdk;
mod stdio;
mod streamable;
mod support;

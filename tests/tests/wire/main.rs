//! The Streamable HTTP and HTTP+SSE wire rules, checked with raw HTTP against a real node.
//!
//! # Layout
//!
//! - `support`: a raw client (initialize, requests in a session, JSON-or-SSE answers).
//! - `rejections`: every malformed or disallowed request gets its precise status and code.
//! - `hosts`: the `Host` allow-list: loopback names on a loopback bind, any host elsewhere
//!   unless set, and a 403 that names the setting.
//! - `sessions`: notifications, DELETE, batches per revision.
//! - `once`: every message once on one node: the newest GET stream supersedes the older
//!   (no 409, no duplicates), broadcasts survive gaps and absences, listening keeps a
//!   session alive.
//! - `streams`: SSE event ids and `Last-Event-ID` resumption.
//! - `cancel`: `notifications/cancelled` stops a running request.
//! - `auth_scopes`: API keys with scopes per method and per tool; 403 `insufficient_scope`.
//! - `admin_listener`: `admin.bind` puts the push API on a listener of its own.
//! - `limits_conn`: stalled bodies (408), unfinished headers, the per-IP connection cap.
//! - `limits_size`: JSON depth, batch length, headers, stored client data, subscriptions,
//!   streams per node, requests in flight per session — each refusal names its setting.
//! - `legacy_sse`: the 2024-11-05 `/sse` + `/messages` endpoints.
//! - `modern_support`: a raw 2026-07-28 client (`_meta`, mirrored headers).
//! - `modern_eras`: a legacy and a modern client on one node, each in its own era.
//! - `modern_headers`: the 2026-07-28 header and `_meta` rules, one malformed request each.
//! - `modern_params`: `Mcp-Param-*` headers from `x-mcp-header` annotations.
//! - `modern_results`: `resultType`, caching hints, `server/discover`, no sessions, no GET
//!   or DELETE, per-request log level.
//! - `modern_listen`: `subscriptions/listen` on one node and across nodes (Redis).
//! - `modern_mrtr`: multi round-trip requests and their sealed `requestState`.

mod admin_listener;
mod auth_scopes;
mod cancel;
mod hosts;
mod legacy_sse;
mod limits_conn;
mod limits_size;
mod modern_eras;
mod modern_headers;
mod modern_listen;
mod modern_mrtr;
mod modern_params;
mod modern_results;
mod modern_support;
mod once;
mod rejections;
mod sessions;
mod streams;
mod support;

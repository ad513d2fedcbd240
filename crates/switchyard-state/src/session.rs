//! Sessions: what a node must know about a client of a session era (2024-11-05 … 2025-11-25) to serve any of its requests.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::StateError;

/// Which transport a session was opened on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// Streamable HTTP (2025-03-26 and later): `Mcp-Session-Id`.
    StreamableHttp,
    /// HTTP+SSE (2024-11-05): `GET /sse` + `POST /messages?sessionId=`.
    HttpSse,
}

/// One session, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The session id (visible ASCII, ≥ 128 bits of CSPRNG output).
    pub id: String,
    /// Who owns the session; bus channels are bound to `<principal>:<session>`.
    /// `"anonymous"` until authentication exists.
    pub principal: String,
    /// The transport the session was opened on.
    pub transport: Transport,
    /// The negotiated protocol version.
    pub protocol_version: String,
    /// `clientInfo` from `initialize`.
    pub client_info: Value,
    /// `capabilities` from `initialize`.
    pub client_capabilities: Value,
    /// Whether `notifications/initialized` has arrived.
    pub initialized: bool,
    /// The level set by `logging/setLevel`, if any.
    pub log_level: Option<String>,
    /// Resource URIs the client subscribed to.
    pub subscriptions: BTreeSet<String>,
    /// Creation time, ms since the Unix epoch.
    pub created_at_ms: u64,
    /// The session's standalone GET stream (its stream name in the event log), if one was
    /// opened. Server-initiated messages are appended to it even while no connection is
    /// attached, so a client resuming it with `Last-Event-ID` misses nothing. Which
    /// connection follows it is the event log's business ([`crate::EventLog::attach`]).
    #[serde(default)]
    pub get_stream: Option<String>,
    /// The sessions the gateway holds with upstream MCP servers on this client's behalf, by
    /// upstream name (`switchyard-upstream`). Created lazily by whichever node forwards to
    /// that upstream first ([`SessionStore::swap_upstream`] decides a race), deleted with the
    /// record.
    #[serde(default)]
    pub upstreams: BTreeMap<String, UpstreamSession>,
}

/// What the gateway must remember about its session with one upstream, for one client
/// session, so that any node forwards with the right `Mcp-Session-Id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamSession {
    /// The upstream's `Mcp-Session-Id`; `None` for an upstream that gave none (a
    /// session-less Streamable HTTP server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The protocol version the upstream negotiated (sent as `MCP-Protocol-Version`).
    pub protocol_version: String,
}

impl UpstreamSession {
    /// The stored form: compact JSON with a fixed field order, so that two encodings of one
    /// value are byte-equal (stores compare them in [`SessionStore::swap_upstream`]).
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads the stored form.
    pub fn decode(s: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(s)
    }
}

/// The outcome of [`SessionStore::swap_upstream`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamSwap {
    /// The stored value was the expected one and is now the new one.
    Swapped,
    /// The stored value was another: nothing was written; here is what is stored (`None`:
    /// no upstream session).
    Current(Option<UpstreamSession>),
    /// The client session does not exist.
    NoSession,
}

impl SessionRecord {
    /// The bus channel of this session: `<principal>:<session>`.
    pub fn channel(&self) -> String {
        session_channel(&self.principal, &self.id)
    }
}

/// The bus channel of a session: `<principal>:<session>`.
pub fn session_channel(principal: &str, session: &str) -> String {
    format!("{principal}:{session}")
}

/// A change to a stored session.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionPatch {
    /// `initialize` was answered (HTTP+SSE sessions exist before their `initialize`).
    Negotiated {
        /// The negotiated protocol version.
        protocol_version: String,
        /// `clientInfo`.
        client_info: Value,
        /// `capabilities`.
        client_capabilities: Value,
    },
    /// `notifications/initialized` arrived.
    Initialized,
    /// `logging/setLevel`.
    LogLevel(String),
    /// `resources/subscribe`.
    Subscribe(String),
    /// `resources/unsubscribe`.
    Unsubscribe(String),
    /// Names the session's standalone GET stream (a newer attachment always wins).
    GetStream(String),
}

impl SessionPatch {
    /// Applies the patch to a record.
    pub fn apply(&self, rec: &mut SessionRecord) {
        match self {
            SessionPatch::Negotiated {
                protocol_version,
                client_info,
                client_capabilities,
            } => {
                rec.protocol_version = protocol_version.clone();
                rec.client_info = client_info.clone();
                rec.client_capabilities = client_capabilities.clone();
            }
            SessionPatch::Initialized => rec.initialized = true,
            SessionPatch::LogLevel(l) => rec.log_level = Some(l.clone()),
            SessionPatch::Subscribe(u) => {
                rec.subscriptions.insert(u.clone());
            }
            SessionPatch::Unsubscribe(u) => {
                rec.subscriptions.remove(u);
            }
            SessionPatch::GetStream(t) => rec.get_stream = Some(t.clone()),
        }
    }
}

/// Where sessions live.
///
/// Contract (checked by [`crate::contract`]):
/// - `create` stores a new record and fails with [`StateError::Conflict`] if the id exists.
/// - `get` returns the record as last written by *any* node, and refreshes its idle TTL (a
///   store may skip refreshing when it did so less than a quarter of the TTL ago: a session
///   read at least every three quarters of the TTL stays); a record idle for longer than the
///   TTL is gone (`None`), as is a deleted one. A node may keep decoded records, but must
///   check each against the stored one on every `get`.
/// - `update` applies a patch (with [`SessionPatch::apply`]) atomically with respect to other patches of the same session,
///   returns `false` (and writes nothing) if the session does not exist.
/// - `delete` returns whether the session existed; after it returns, `get` on every node
///   returns `None` (no stale cache may resurrect it).
/// - Errors are [`StateError::Unavailable`] when the backing store is unreachable; nothing
///   is half-written.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Stores a new session.
    async fn create(&self, record: SessionRecord) -> Result<(), StateError>;
    /// Loads a session and refreshes its idle TTL. The record is shared, not copied: a
    /// store may hand out the very record it keeps (a later `update` does not change it).
    async fn get(&self, id: &str) -> Result<Option<Arc<SessionRecord>>, StateError>;
    /// Applies a patch; `false` if the session does not exist.
    async fn update(&self, id: &str, patch: SessionPatch) -> Result<bool, StateError>;
    /// Deletes a session; `true` if it existed.
    async fn delete(&self, id: &str) -> Result<bool, StateError>;
    /// Compare-and-set of the session's upstream session named `upstream`: when what is
    /// stored equals `expected` (`None`: nothing stored), stores `new` (`None`: removes it)
    /// and answers [`UpstreamSwap::Swapped`]; otherwise writes nothing and answers what is
    /// stored. Atomic with respect to every other write of the session, on any node: of two
    /// nodes racing to create the same upstream session from `None`, exactly one swaps.
    /// Refreshes the idle TTL like a patch; the next `get` on any node sees the change.
    async fn swap_upstream(
        &self,
        id: &str,
        upstream: &str,
        expected: Option<&UpstreamSession>,
        new: Option<&UpstreamSession>,
    ) -> Result<UpstreamSwap, StateError>;
}

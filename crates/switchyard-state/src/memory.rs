//! In-memory implementations of the state contracts: the embedded default of a single node.
//!
//! Everything lives in this process, so a restart loses every session and every event; each
//! session's event log mints a fresh epoch when it is created, so a `Last-Event-ID` from
//! before the restart is answered with [`crate::ReplayError::Gone`], never replayed from the
//! wrong place.
//!
//! Each type is a cheap handle (`Clone` shares the same state) and locks only one shard of
//! its map, for a short critical section that never spans an `.await`. Expired entries are
//! swept lazily when touched, plus one pass over a shard at most once per TTL when a new
//! entry is inserted into it; no background task is spawned.
//!
//! # Layout
//!
//! - [`MemorySessionStore`]: sessions with an idle TTL.
//! - [`MemoryEventLog`]: per-stream event logs, trimmed to a maximum length.
//! - [`MemoryBus`]: pub/sub over one `tokio::sync::broadcast` channel per live channel name.

mod bus;
mod log;
mod session;
mod shards;

pub use bus::MemoryBus;
pub use log::MemoryEventLog;
pub use session::MemorySessionStore;

/// A duration far enough in the future to mean "never", and small enough that adding it to
/// an `Instant` cannot overflow.
const FOREVER: std::time::Duration = std::time::Duration::from_secs(10 * 365 * 24 * 3600);

#[cfg(test)]
mod tests;

//! The contract suite: every clause of the [`SessionStore`], [`EventLog`] and [`Bus`]
//! contracts, as assertions that any implementation must pass.
//!
//! Each entry point takes an async factory that returns *two handles on one shared
//! backing*, standing for two nodes of a cluster (for an in-memory implementation: two
//! clones of one value; for Redis: two independent clients of one server). The suite never
//! assumes a fresh backing: it names sessions and channels with random ids, and removes what
//! it wrote. It fails by panicking (with the clause in the message), waits on conditions with
//! deadlines rather than sleeps, and needs nothing but a tokio runtime (current-thread is
//! enough; it spawns no task).
//!
//! ```no_run
//! use switchyard_state::{contract, memory::*};
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() {
//!     contract::session_store(|ttl| async move {
//!         let s = MemorySessionStore::new(ttl);
//!         (s.clone(), s)
//!     })
//!     .await;
//!     contract::event_log(|max_len| async move {
//!         let l = MemoryEventLog::new(max_len);
//!         (l.clone(), l)
//!     })
//!     .await;
//!     contract::bus(|capacity| async move {
//!         let b = MemoryBus::new(capacity);
//!         (b.clone(), b)
//!     })
//!     .await;
//! }
//! ```
//!
//! Clauses that cannot be checked without breaking the backing (errors are
//! `Unavailable` when it is unreachable, nothing is half-written; a subscription ends when
//! the bus shuts down; one connection per node) are left to each implementation's own tests.
//!
//! # Layout
//!
//! - [`session_store`]: the [`SessionStore`] clauses, including the idle TTL and the
//!   upstream sessions' compare-and-set (`upstream.rs`).
//! - [`event_log`]: the [`EventLog`] clauses, including trimming.
//! - [`bus`]: the [`Bus`] clauses, including gaps on lag.

mod bus;
mod log;
mod log_once;
mod session;
mod support;
mod upstream;

pub use bus::bus;
pub use log::event_log;
pub use session::session_store;

#[cfg(doc)]
use crate::{Bus, EventLog, SessionStore};

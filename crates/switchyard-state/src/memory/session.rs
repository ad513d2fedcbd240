//! [`MemorySessionStore`]: sessions in a sharded map, with an idle TTL.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use super::FOREVER;
use super::shards::Sharded;
use crate::{SessionPatch, SessionRecord, SessionStore, StateError, UpstreamSession, UpstreamSwap};

/// The shortest interval between two sweeps of one shard, whatever the TTL.
const MIN_SWEEP_INTERVAL: Duration = Duration::from_millis(10);

/// Sessions kept in this process, each forgotten after `idle_ttl` without a `get` or an
/// `update`.
///
/// A clone is another handle on the same sessions. A record idle for longer than the TTL is
/// invisible at once (`get` → `None`, `update` → `false`, `delete` → `false`, and its id can
/// be created again); its memory is reclaimed when it is next touched, or by the sweep of
/// its shard that a `create` runs at most once per TTL, or by [`MemorySessionStore::sweep`].
#[derive(Clone)]
pub struct MemorySessionStore {
    inner: Arc<Inner>,
}

struct Inner {
    ttl: Duration,
    sweep_every: Duration,
    shards: Sharded<Shard>,
}

#[derive(Default)]
struct Shard {
    records: HashMap<String, Entry>,
    /// When `create` next sweeps this shard; `None` before the first sweep.
    next_sweep: Option<Instant>,
}

struct Entry {
    /// Shared so that `get` copies the record outside the lock, and `update` writes in place
    /// unless a `get` is copying it at that very moment.
    record: Arc<SessionRecord>,
    expires: Instant,
}

impl Shard {
    fn sweep(&mut self, now: Instant) -> usize {
        let before = self.records.len();
        self.records.retain(|_, e| e.expires > now);
        before - self.records.len()
    }
}

impl std::fmt::Debug for MemorySessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemorySessionStore")
            .field("idle_ttl", &self.inner.ttl)
            .finish_non_exhaustive()
    }
}

impl MemorySessionStore {
    /// An empty store whose sessions expire after `idle_ttl` without a `get` or an `update`
    /// (a TTL above ten years is treated as ten years).
    pub fn new(idle_ttl: Duration) -> Self {
        let ttl = idle_ttl.min(FOREVER);
        Self {
            inner: Arc::new(Inner {
                ttl,
                sweep_every: ttl.max(MIN_SWEEP_INTERVAL),
                shards: Sharded::new(),
            }),
        }
    }

    /// The idle TTL this store was created with.
    pub fn idle_ttl(&self) -> Duration {
        self.inner.ttl
    }

    /// How many sessions are live (not expired). Walks the whole store: for metrics, not the
    /// hot path.
    pub fn len(&self) -> usize {
        let now = Instant::now();
        let mut n = 0;
        self.inner
            .shards
            .for_each(|s| n += s.records.values().filter(|e| e.expires > now).count());
        n
    }

    /// Whether no session is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every expired record now, returning how many there were. Never needed for
    /// correctness; a node may call it from a periodic task to return memory sooner.
    pub fn sweep(&self) -> usize {
        let now = Instant::now();
        let mut n = 0;
        self.inner.shards.for_each(|s| n += s.sweep(now));
        n
    }

    /// How many records are held, expired or not (tests check that expired ones are swept).
    #[cfg(test)]
    pub(crate) fn stored(&self) -> usize {
        let mut n = 0;
        self.inner.shards.for_each(|s| n += s.records.len());
        n
    }
}

#[async_trait]
impl SessionStore for MemorySessionStore {
    async fn create(&self, record: SessionRecord) -> Result<(), StateError> {
        let now = Instant::now();
        let mut shard = self.inner.shards.lock(&record.id);
        if shard.next_sweep.is_none_or(|t| now >= t) {
            shard.sweep(now);
            shard.next_sweep = Some(now + self.inner.sweep_every);
        }
        if shard
            .records
            .get(&record.id)
            .is_some_and(|e| e.expires > now)
        {
            return Err(StateError::Conflict(format!("session {}", record.id)));
        }
        let entry = Entry {
            expires: now + self.inner.ttl,
            record: Arc::new(record),
        };
        shard.records.insert(entry.record.id.clone(), entry);
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<Arc<SessionRecord>>, StateError> {
        let now = Instant::now();
        let found = {
            let mut shard = self.inner.shards.lock(id);
            match shard.records.get_mut(id) {
                Some(e) if e.expires > now => {
                    e.expires = now + self.inner.ttl;
                    Some(Arc::clone(&e.record))
                }
                Some(_) => {
                    shard.records.remove(id);
                    None
                }
                None => None,
            }
        };
        Ok(found)
    }

    async fn update(&self, id: &str, patch: SessionPatch) -> Result<bool, StateError> {
        let now = Instant::now();
        let mut shard = self.inner.shards.lock(id);
        match shard.records.get_mut(id) {
            Some(e) if e.expires > now => {
                e.expires = now + self.inner.ttl;
                patch.apply(Arc::make_mut(&mut e.record));
                Ok(true)
            }
            Some(_) => {
                shard.records.remove(id);
                Ok(false)
            }
            None => Ok(false),
        }
    }

    async fn delete(&self, id: &str) -> Result<bool, StateError> {
        let now = Instant::now();
        let removed = self.inner.shards.lock(id).records.remove(id);
        Ok(removed.is_some_and(|e| e.expires > now))
    }

    async fn swap_upstream(
        &self,
        id: &str,
        upstream: &str,
        expected: Option<&UpstreamSession>,
        new: Option<&UpstreamSession>,
    ) -> Result<UpstreamSwap, StateError> {
        let now = Instant::now();
        let mut shard = self.inner.shards.lock(id);
        match shard.records.get_mut(id) {
            Some(e) if e.expires > now => {
                e.expires = now + self.inner.ttl;
                let current = e.record.upstreams.get(upstream);
                if current != expected {
                    return Ok(UpstreamSwap::Current(current.cloned()));
                }
                let rec = Arc::make_mut(&mut e.record);
                match new {
                    Some(n) => {
                        rec.upstreams.insert(upstream.to_owned(), n.clone());
                    }
                    None => {
                        rec.upstreams.remove(upstream);
                    }
                }
                Ok(UpstreamSwap::Swapped)
            }
            Some(_) => {
                shard.records.remove(id);
                Ok(UpstreamSwap::NoSession)
            }
            None => Ok(UpstreamSwap::NoSession),
        }
    }
}

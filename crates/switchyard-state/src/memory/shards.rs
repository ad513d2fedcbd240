//! A map split into independently locked shards, so that two sessions rarely share a lock.

use std::hash::BuildHasher;
use std::sync::{Mutex, MutexGuard, PoisonError};

use std::collections::hash_map::RandomState;

/// How many shards: a power of two, a few times the core count of a typical node.
const SHARDS: usize = 16;

/// `SHARDS` values of `T`, each behind its own mutex, picked by the hash of a string key.
pub(crate) struct Sharded<T> {
    shards: Box<[Mutex<T>]>,
    hasher: RandomState,
}

impl<T: Default> Sharded<T> {
    /// Creates `SHARDS` empty shards.
    pub(crate) fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(T::default())).collect(),
            hasher: RandomState::new(),
        }
    }
}

impl<T> Sharded<T> {
    /// Locks the shard that holds `key`.
    ///
    /// A panic while a shard was locked cannot leave it half-updated (no critical section
    /// here panics midway), so a poisoned lock is simply taken over.
    pub(crate) fn lock(&self, key: &str) -> MutexGuard<'_, T> {
        let i = self.hasher.hash_one(key) as usize & (SHARDS - 1);
        self.shards[i]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks each shard in turn (never two at once) and calls `f` on it.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&mut T)) {
        for shard in self.shards.iter() {
            f(&mut shard.lock().unwrap_or_else(PoisonError::into_inner));
        }
    }
}

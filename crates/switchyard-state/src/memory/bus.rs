//! [`MemoryBus`]: pub/sub within one process, over `tokio::sync::broadcast`.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::broadcast::{self, error::RecvError};

use super::shards::Sharded;
use crate::{Bus, Delivery, StateError, Subscription};

/// Pub/sub between the tasks of one node.
///
/// A channel exists while it has a subscription: the first `subscribe` creates a broadcast
/// channel of `capacity` slots (allocated up front: budget `capacity` × ~50 bytes per live
/// channel), dropping the last subscription removes it, and publishing to a channel nobody
/// listens to costs one map lookup. A subscriber that falls more than `capacity` payloads
/// behind receives [`Delivery::Gap`], then the oldest payloads still held.
///
/// A clone is another handle on the same channels. When the last handle is dropped, the bus
/// is shut down: every subscription ends (yields `None`) once it has drained what it holds.
#[derive(Clone)]
pub struct MemoryBus {
    inner: Arc<Inner>,
}

struct Inner {
    capacity: usize,
    channels: Sharded<HashMap<Box<str>, broadcast::Sender<Bytes>>>,
}

impl std::fmt::Debug for MemoryBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBus")
            .field("capacity", &self.inner.capacity)
            .finish_non_exhaustive()
    }
}

impl MemoryBus {
    /// An empty bus whose subscriptions each hold up to `capacity` undelivered payloads
    /// (0 is treated as 1; tokio rounds it up to a power of two).
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                capacity: capacity.max(1),
                channels: Sharded::new(),
            }),
        }
    }

    /// How many channels have at least one subscription. Walks the whole bus: for metrics.
    pub fn channel_count(&self) -> usize {
        let mut n = 0;
        self.inner.channels.for_each(|m| n += m.len());
        n
    }
}

/// The receiving end of one subscription; removes its channel when it is the last one.
struct Live {
    /// Always `Some` until dropped.
    rx: Option<broadcast::Receiver<Bytes>>,
    channel: Box<str>,
    bus: Weak<Inner>,
}

impl Drop for Live {
    fn drop(&mut self) {
        let Some(bus) = self.bus.upgrade() else {
            return;
        };
        let mut channels = bus.channels.lock(&self.channel);
        // Drop the receiver under the lock that `subscribe` takes, so that of several
        // subscriptions dropped at once exactly the last one sees no receiver left.
        self.rx = None;
        if channels
            .get(&self.channel)
            .is_some_and(|tx| tx.receiver_count() == 0)
        {
            channels.remove(&self.channel);
        }
    }
}

#[async_trait]
impl Bus for MemoryBus {
    async fn publish(&self, channel: &str, payload: Bytes) -> Result<(), StateError> {
        if let Some(tx) = self.inner.channels.lock(channel).get(channel) {
            // An error only means that every receiver was dropped since: nobody listens.
            let _ = tx.send(payload);
        }
        Ok(())
    }

    async fn subscribe(&self, channel: &str) -> Result<Subscription, StateError> {
        let rx = {
            let mut channels = self.inner.channels.lock(channel);
            match channels.get(channel) {
                Some(tx) => tx.subscribe(),
                None => {
                    let (tx, rx) = broadcast::channel(self.inner.capacity);
                    channels.insert(channel.into(), tx);
                    rx
                }
            }
        };
        let live = Live {
            rx: Some(rx),
            channel: channel.into(),
            bus: Arc::downgrade(&self.inner),
        };
        Ok(Subscription::new(futures::stream::unfold(
            live,
            |mut live| async move {
                let delivery = match live.rx.as_mut()?.recv().await {
                    Ok(payload) => Delivery::Message(payload),
                    Err(RecvError::Lagged(_)) => Delivery::Gap,
                    Err(RecvError::Closed) => return None,
                };
                Some((delivery, live))
            },
        )))
    }
}

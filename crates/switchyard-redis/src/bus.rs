//! [`RedisBus`]: Redis pub/sub, fanned out locally from one subscriber connection.
//!
//! Every subscription of a node shares one Redis connection (on a cluster: one cluster
//! connection, one socket per master). Locally, each channel with at least one subscription
//! has an [`Entry`]: a `tokio::sync::broadcast` sender that the connection's push handler
//! feeds, and two flags. `live` says Redis has confirmed the channel on the current
//! connection; `gap` says payloads may have been lost since the last delivery (the
//! connection went away), so the next thing each subscriber receives is a
//! [`Delivery::Gap`]. The first local subscription of a channel subscribes it in Redis, the
//! last one dropped unsubscribes it; both go through the task in [`subscriber`], in order.

mod subscriber;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use switchyard_state::{Bus, Delivery, StateError, Subscription};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::{mpsc, oneshot};

use crate::core::Core;
use crate::keys;
use crate::options::{ConnectError, RedisOptions, RedisTarget};

/// Pub/sub between nodes over Redis (`PUBLISH`/`SUBSCRIBE` on a single server,
/// `SPUBLISH`/`SSUBSCRIBE` on a cluster), on channels `sy:c:<name>`.
///
/// - `publish` is one command on a shared command connection; it returns once Redis has
///   accepted the payload.
/// - `subscribe` returns once Redis has confirmed the channel on this node's subscriber
///   connection (at once if another local subscription already holds it).
/// - When the subscriber connection is lost or replaced, the node reconnects with backoff,
///   subscribes every channel again, and every live subscription then receives
///   [`Delivery::Gap`] before anything else. While Redis is unreachable, `publish` and
///   `subscribe` fail with [`StateError::Unavailable`] within the operation timeout.
/// - A subscriber more than `bus_capacity` payloads behind receives `Gap`, then the oldest
///   payloads still held.
///
/// A clone is another handle on the same bus. When the last handle is dropped, the
/// subscriber connection is closed and every subscription ends once it has drained what it
/// holds.
#[derive(Clone)]
pub struct RedisBus {
    core: Arc<Core>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus")
            .field("capacity", &self.shared.capacity)
            .field("clustered", &self.core.clustered)
            .finish_non_exhaustive()
    }
}

/// The local side of the bus, shared by its handles, its subscriptions (weakly) and its
/// subscriber connection (weakly).
pub(crate) struct Shared {
    channels: Mutex<HashMap<String, Entry>>,
    commands: mpsc::UnboundedSender<Command>,
    capacity: usize,
    timeout: Duration,
}

struct Entry {
    tx: broadcast::Sender<Delivery>,
    /// Redis has confirmed the channel on the current connection.
    live: bool,
    /// Payloads may have been lost since the last delivery.
    gap: bool,
}

/// What the subscriber task is asked to do, in order.
pub(crate) enum Command {
    /// Make sure Redis has the channel; answer when it has (or why not).
    Subscribe(String, oneshot::Sender<Result<(), String>>),
    /// The channel's last local subscription was dropped.
    Unsubscribe(String),
    /// The connection was lost: subscribe everything again.
    Lost,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands a payload to the local subscribers of `channel`.
    pub(crate) fn deliver(&self, channel: &str, payload: Bytes) {
        if let Some(e) = self.lock().get_mut(channel) {
            if e.gap {
                e.gap = false;
                let _ = e.tx.send(Delivery::Gap);
            }
            // An error only means that every receiver was dropped since.
            let _ = e.tx.send(Delivery::Message(payload));
        }
    }

    /// Every channel may have lost payloads, and none is confirmed any more.
    pub(crate) fn mark_lost(&self) {
        for e in self.lock().values_mut() {
            e.live = false;
            e.gap = true;
        }
    }

    /// One channel was dropped by the server (a sharded channel whose slot moved).
    pub(crate) fn mark_channel_lost(&self, channel: &str) -> bool {
        match self.lock().get_mut(channel) {
            Some(e) => {
                e.live = false;
                e.gap = true;
                true
            }
            None => false,
        }
    }

    /// Redis confirmed these channels: mark them live, and tell their subscribers about a
    /// pending gap.
    pub(crate) fn confirm(&self, channels: &[String]) {
        let mut map = self.lock();
        for ch in channels {
            if let Some(e) = map.get_mut(ch) {
                e.live = true;
                if e.gap {
                    e.gap = false;
                    let _ = e.tx.send(Delivery::Gap);
                }
            }
        }
    }

    pub(crate) fn is_live(&self, channel: &str) -> bool {
        self.lock().get(channel).is_some_and(|e| e.live)
    }

    pub(crate) fn is_subscribed(&self, channel: &str) -> bool {
        self.lock().contains_key(channel)
    }

    pub(crate) fn channel_names(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    pub(crate) fn notify_lost(&self) {
        let _ = self.commands.send(Command::Lost);
    }
}

impl RedisBus {
    /// Opens the subscriber connection and starts its task.
    pub(crate) async fn start(
        core: Arc<Core>,
        target: &RedisTarget,
        options: &RedisOptions,
    ) -> Result<Self, ConnectError> {
        let (commands, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            channels: Mutex::new(HashMap::new()),
            commands,
            capacity: options.bus_capacity.max(1),
            timeout: options.timeout,
        });
        subscriber::start(target, options, Arc::downgrade(&shared), rx).await?;
        Ok(Self { core, shared })
    }

    /// The same bus (local fan-out, subscriber connection), publishing on `core`'s
    /// connections.
    pub(crate) fn on(&self, core: Arc<Core>) -> Self {
        Self {
            core,
            shared: Arc::clone(&self.shared),
        }
    }

    /// How many channels have at least one local subscription. For metrics.
    pub fn channel_count(&self) -> usize {
        self.shared.lock().len()
    }
}

/// The receiving end of one subscription; unsubscribes its channel when it is the last.
struct Live {
    /// Always `Some` until dropped.
    rx: Option<broadcast::Receiver<Delivery>>,
    channel: String,
    shared: Weak<Shared>,
}

impl Drop for Live {
    fn drop(&mut self) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let mut channels = shared.lock();
        // Drop the receiver under the lock `subscribe` takes, so that of several
        // subscriptions dropped at once exactly the last one sees no receiver left.
        self.rx = None;
        if channels
            .get(&self.channel)
            .is_some_and(|e| e.tx.receiver_count() == 0)
        {
            channels.remove(&self.channel);
            let _ = shared
                .commands
                .send(Command::Unsubscribe(std::mem::take(&mut self.channel)));
        }
    }
}

#[async_trait]
impl Bus for RedisBus {
    async fn publish(&self, channel: &str, payload: Bytes) -> Result<(), StateError> {
        let channel = keys::channel(channel);
        let command = if self.core.clustered {
            "SPUBLISH"
        } else {
            "PUBLISH"
        };
        let _: i64 = self
            .core
            .run("publish", |mut c| async move {
                redis::cmd(command)
                    .arg(channel)
                    .arg(&payload[..])
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok(())
    }

    async fn subscribe(&self, channel: &str) -> Result<Subscription, StateError> {
        let channel = keys::channel(channel);
        let shared = &self.shared;
        let (rx, live) = {
            let mut map = shared.lock();
            match map.get(&channel) {
                Some(e) => (e.tx.subscribe(), e.live),
                None => {
                    let (tx, rx) = broadcast::channel(shared.capacity);
                    let entry = Entry {
                        tx,
                        live: false,
                        gap: false,
                    };
                    map.insert(channel.clone(), entry);
                    (rx, false)
                }
            }
        };
        // From here on, dropping `live` undoes the local subscription.
        let live_sub = Live {
            rx: Some(rx),
            channel: channel.clone(),
            shared: Arc::downgrade(shared),
        };
        if !live {
            let (tx, confirmed) = oneshot::channel();
            shared
                .commands
                .send(Command::Subscribe(channel.clone(), tx))
                .map_err(|_| StateError::unavailable("the bus is shut down"))?;
            match tokio::time::timeout(shared.timeout, confirmed).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(why))) => {
                    return Err(StateError::unavailable(format!(
                        "subscribe to {channel}: {why}"
                    )));
                }
                Ok(Err(_)) => return Err(StateError::unavailable("the bus is shut down")),
                Err(_) => {
                    return Err(StateError::unavailable(format!(
                        "subscribe to {channel}: no confirmation from Redis within {:?}",
                        shared.timeout
                    )));
                }
            }
        }
        Ok(Subscription::new(futures::stream::unfold(
            live_sub,
            |mut live| async move {
                let delivery = match live.rx.as_mut()?.recv().await {
                    Ok(d) => d,
                    Err(RecvError::Lagged(_)) => Delivery::Gap,
                    Err(RecvError::Closed) => return None,
                };
                Some((delivery, live))
            },
        )))
    }
}

//! The bus: at-most-once pub/sub between nodes, keyed by channel name.

use std::pin::Pin;
use std::task::{Context, Poll};

use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;

use crate::StateError;

/// What a subscription yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// A published payload.
    Message(Bytes),
    /// Messages may have been missed (the subscriber lagged, or the connection to the bus
    /// was lost and re-established). A consumer that must not miss anything re-reads the
    /// [`crate::EventLog`] after its last delivered id.
    Gap,
}

/// A live subscription; dropping it unsubscribes.
pub struct Subscription {
    inner: Pin<Box<dyn Stream<Item = Delivery> + Send>>,
}

impl Subscription {
    /// Wraps a stream of deliveries.
    pub fn new(stream: impl Stream<Item = Delivery> + Send + 'static) -> Self {
        Self {
            inner: Box::pin(stream),
        }
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Subscription")
    }
}

impl Stream for Subscription {
    type Item = Delivery;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Delivery>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// Pub/sub between nodes.
///
/// Contract (checked by [`crate::contract`]):
/// - A payload published on a channel reaches every subscription to that channel that was
///   established (its `subscribe` returned) before `publish` was called, on any node.
/// - Payloads from one publisher on one channel arrive in publish order.
/// - Delivery is at most once; when a subscriber may have missed payloads it receives
///   [`Delivery::Gap`] instead of silence.
/// - Channels are independent: a subscriber never sees another channel's payloads.
/// - A subscription ends (the stream yields `None`) only when the bus is shut down.
/// - `subscribe` is cheap: implementations multiplex every subscription of a node over one
///   connection; they never open a connection per subscription.
#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Publishes a payload; returns once the bus has accepted it.
    async fn publish(&self, channel: &str, payload: Bytes) -> Result<(), StateError>;
    /// Subscribes to a channel.
    async fn subscribe(&self, channel: &str) -> Result<Subscription, StateError>;
}

//! The subscriber connection of a [`super::RedisBus`], and the task that owns it.
//!
//! - Single server: a RESP3 `ConnectionManager` whose pushes (messages, disconnections) go
//!   straight to [`Dispatcher`]. The manager reconnects by itself when asked to; the task
//!   decides when, and subscribes every channel again itself.
//! - Cluster: a RESP3 cluster connection (one socket per master, `SSUBSCRIBE` routed to the
//!   master of each channel's slot), with the same dispatcher.
//!
//! The task serves [`Command`]s in order (so a channel's unsubscribe and a later subscribe
//! never swap), batching consecutive subscribes into one round trip. Every `heartbeat` it
//! checks the connection: on a single server `CLIENT INFO`, where a changed client id (the
//! manager replaced the connection) or fewer channels than the task subscribed mean Redis
//! forgot subscriptions; on a cluster `PING` to every master. After a loss (a disconnection push, a failed or changed heartbeat, a failed
//! command) it retries with exponential backoff until every channel is subscribed again on
//! one and the same connection, then delivers the pending `Gap`s. While it is recovering,
//! new subscribes are refused at once (`Unavailable`), never left hanging.

use std::collections::HashSet;
use std::sync::Weak;
use std::time::Duration;

use bytes::Bytes;
use redis::aio::{AsyncPushSender, ConnectionManager, ConnectionManagerConfig, SendError};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{Client, IntoConnectionInfo, ProtocolVersion, PushInfo, PushKind, RedisError, Value};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until, timeout};

use super::{Command, Shared};
use crate::options::{ConnectError, RedisOptions, RedisTarget, redact};

/// The most commands served in one batch, and channels in one `SUBSCRIBE`.
const BATCH: usize = 512;

/// Routes the pushes of the subscriber connection into the local channels.
struct Dispatcher {
    shared: Weak<Shared>,
}

impl AsyncPushSender for Dispatcher {
    fn send(&self, info: PushInfo) -> Result<(), SendError> {
        let Some(shared) = self.shared.upgrade() else {
            return Err(SendError);
        };
        match info.kind {
            PushKind::Message | PushKind::SMessage => {
                let mut data = info.data.into_iter();
                if let (Some(Value::BulkString(channel)), Some(Value::BulkString(payload))) =
                    (data.next(), data.next())
                    && let Ok(channel) = std::str::from_utf8(&channel)
                {
                    shared.deliver(channel, Bytes::from(payload));
                }
            }
            PushKind::Disconnection => {
                shared.mark_lost();
                shared.notify_lost();
            }
            PushKind::SUnsubscribe => {
                // Also the confirmation of our own SUNSUBSCRIBE, sent once the channel has no
                // local entry; one that still has an entry was dropped by the server.
                if let Some(Value::BulkString(channel)) = info.data.first()
                    && let Ok(channel) = std::str::from_utf8(channel)
                    && shared.mark_channel_lost(channel)
                {
                    shared.notify_lost();
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// What a heartbeat learns about the subscriber connection (single server only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Health {
    /// The connection's client id.
    id: Option<u64>,
    /// How many channels Redis holds for the connection.
    channels: Option<u64>,
}

/// The subscriber connection.
enum SubConn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl SubConn {
    async fn open(
        target: &RedisTarget,
        options: &RedisOptions,
        shared: Weak<Shared>,
    ) -> Result<Self, ConnectError> {
        let dispatcher = Dispatcher { shared };
        let unavailable = |url: &str, e: RedisError| {
            ConnectError::State(switchyard_state::StateError::unavailable(format!(
                "subscriber connection to {}: {e}",
                redact(url)
            )))
        };
        let invalid = |e: RedisError| ConnectError::InvalidUrl(e.to_string());
        let opening = async {
            match target {
                RedisTarget::Single(url) => {
                    let info = url.as_str().into_connection_info().map_err(invalid)?;
                    let resp3 = info
                        .redis_settings()
                        .clone()
                        .set_protocol(ProtocolVersion::RESP3);
                    let client = Client::open(info.set_redis_settings(resp3)).map_err(invalid)?;
                    let config = ConnectionManagerConfig::new()
                        .set_push_sender(dispatcher)
                        .set_number_of_retries(1)
                        .set_min_delay(options.reconnect_min)
                        .set_max_delay(options.reconnect_max)
                        .set_connection_timeout(Some(options.timeout))
                        .set_response_timeout(Some(options.timeout));
                    ConnectionManager::new_with_config(client, config)
                        .await
                        .map(SubConn::Single)
                        .map_err(|e| unavailable(url, e))
                }
                RedisTarget::Cluster(nodes) => {
                    let client = ClusterClientBuilder::new(nodes.iter().map(String::as_str))
                        .use_protocol(ProtocolVersion::RESP3)
                        .push_sender(dispatcher)
                        .connection_timeout(options.timeout)
                        .response_timeout(options.timeout)
                        .build()
                        .map_err(invalid)?;
                    client
                        .get_async_connection()
                        .await
                        .map(SubConn::Cluster)
                        .map_err(|e| unavailable(&nodes[0], e))
                }
            }
        };
        timeout(options.timeout, opening).await.map_err(|_| {
            ConnectError::State(switchyard_state::StateError::unavailable(format!(
                "subscriber connection: no answer from Redis within {:?}",
                options.timeout
            )))
        })?
    }

    /// Checks the connection.
    async fn check(&mut self) -> Result<Health, RedisError> {
        match self {
            SubConn::Single(c) => {
                let info: String = redis::cmd("CLIENT").arg("INFO").query_async(c).await?;
                let field = |name: &str| {
                    info.split_ascii_whitespace()
                        .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
                        .and_then(|v| v.parse().ok())
                };
                Ok(Health {
                    id: field("id"),
                    channels: field("sub"),
                })
            }
            SubConn::Cluster(c) => {
                let _: Value = redis::cmd("PING").query_async(c).await?;
                Ok(Health::default())
            }
        }
    }

    async fn subscribe(&mut self, channels: &[String]) -> Result<(), RedisError> {
        match self {
            SubConn::Single(c) => c.subscribe(channels).await,
            SubConn::Cluster(c) => {
                // A sharded subscribe names channels of one slot only: one command each.
                let each = channels.iter().map(|ch| {
                    let mut c = c.clone();
                    async move { c.ssubscribe(ch).await }
                });
                futures::future::try_join_all(each).await.map(|_| ())
            }
        }
    }

    async fn unsubscribe(&mut self, channel: &str) -> Result<(), RedisError> {
        match self {
            SubConn::Single(c) => c.unsubscribe(channel).await,
            SubConn::Cluster(c) => c.sunsubscribe(channel).await,
        }
    }
}

/// Opens the subscriber connection and spawns its task, which runs until the bus is
/// dropped.
pub(super) async fn start(
    target: &RedisTarget,
    options: &RedisOptions,
    shared: Weak<Shared>,
    commands: mpsc::UnboundedReceiver<Command>,
) -> Result<(), ConnectError> {
    let mut conn = SubConn::open(target, options, shared.clone()).await?;
    let client_id = timeout(options.timeout, conn.check())
        .await
        .ok()
        .and_then(Result::ok)
        .and_then(|h| h.id);
    let task = Task {
        conn,
        held: HashSet::new(),
        commands,
        shared,
        timeout: options.timeout,
        heartbeat: options.heartbeat,
        backoff_min: options.reconnect_min,
        backoff_max: options.reconnect_max.max(options.reconnect_min),
    };
    tokio::spawn(task.run(client_id));
    Ok(())
}

struct Task {
    conn: SubConn,
    /// The channels Redis holds on the current connection, as far as the task knows.
    held: HashSet<String>,
    commands: mpsc::UnboundedReceiver<Command>,
    shared: Weak<Shared>,
    timeout: Duration,
    heartbeat: Duration,
    backoff_min: Duration,
    backoff_max: Duration,
}

/// Why a step of the task failed.
type Failure = String;

/// The value of a step bounded by a timeout, or why it failed.
fn step<T>(
    what: &str,
    r: Result<Result<T, RedisError>, tokio::time::error::Elapsed>,
) -> Result<T, Failure> {
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{what}: {e}")),
        Err(_) => Err(format!("{what}: timed out")),
    }
}

impl Task {
    async fn run(mut self, mut client_id: Option<u64>) {
        let mut healthy = true;
        let mut backoff = self.backoff_min;
        let mut next = Instant::now() + self.heartbeat;
        loop {
            tokio::select! {
                cmd = self.commands.recv() => {
                    let Some(cmd) = cmd else { return };
                    let mut batch = vec![cmd];
                    while batch.len() < BATCH {
                        match self.commands.try_recv() {
                            Ok(cmd) => batch.push(cmd),
                            Err(_) => break,
                        }
                    }
                    let was_healthy = healthy;
                    self.serve(batch, &mut healthy).await;
                    if was_healthy && !healthy {
                        backoff = self.backoff_min;
                        next = Instant::now() + backoff;
                    }
                }
                () = sleep_until(next) => {
                    if healthy {
                        match timeout(self.timeout, self.conn.check()).await {
                            Ok(Ok(h)) if h.id != client_id => {
                                self.lost(&mut healthy, "the connection was replaced");
                            }
                            Ok(Ok(h)) if h.channels.is_some_and(|n| n < self.held.len() as u64) => {
                                self.lost(&mut healthy, "Redis dropped subscriptions");
                            }
                            Ok(Ok(_)) => {}
                            Ok(Err(e)) => self.lost(&mut healthy, &e.to_string()),
                            Err(_) => self.lost(&mut healthy, "heartbeat timed out"),
                        }
                    }
                    if !healthy {
                        match self.resubscribe_all().await {
                            Ok(id) => {
                                tracing::info!("bus subscriber connection restored");
                                healthy = true;
                                client_id = id;
                                backoff = self.backoff_min;
                            }
                            Err(why) => {
                                tracing::debug!(%why, "bus subscriber connection not restored yet");
                                backoff = (backoff * 2).min(self.backoff_max);
                            }
                        }
                    }
                    next = Instant::now() + if healthy { self.heartbeat } else { backoff };
                }
            }
        }
    }

    fn lost(&mut self, healthy: &mut bool, why: &str) {
        self.held.clear();
        if *healthy {
            tracing::warn!(%why, "bus subscriber connection lost; resubscribing");
            *healthy = false;
        }
        if let Some(shared) = self.shared.upgrade() {
            shared.mark_lost();
        }
    }

    /// Serves a batch of commands in order.
    async fn serve(&mut self, batch: Vec<Command>, healthy: &mut bool) {
        let mut pending: Vec<(String, tokio::sync::oneshot::Sender<Result<(), String>>)> =
            Vec::new();
        for cmd in batch {
            match cmd {
                Command::Subscribe(ch, reply) => pending.push((ch, reply)),
                Command::Unsubscribe(ch) => {
                    self.subscribe_pending(&mut pending, healthy).await;
                    self.unsubscribe(&ch, healthy).await;
                }
                Command::Lost => {
                    self.subscribe_pending(&mut pending, healthy).await;
                    self.lost(healthy, "disconnected");
                }
            }
        }
        self.subscribe_pending(&mut pending, healthy).await;
    }

    /// Subscribes the channels of queued subscribe commands that Redis does not hold yet,
    /// in one round trip, and answers every command.
    async fn subscribe_pending(
        &mut self,
        pending: &mut Vec<(String, tokio::sync::oneshot::Sender<Result<(), String>>)>,
        healthy: &mut bool,
    ) {
        if pending.is_empty() {
            return;
        }
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let mut todo: Vec<String> = pending
            .iter()
            .filter(|(ch, _)| shared.is_subscribed(ch) && !shared.is_live(ch))
            .map(|(ch, _)| ch.clone())
            .collect();
        todo.sort_unstable();
        todo.dedup();
        drop(shared);
        let outcome: Result<(), Failure> = if !*healthy {
            Err("the connection to Redis was lost; reconnecting".into())
        } else if todo.is_empty() {
            Ok(())
        } else {
            match timeout(self.timeout, self.conn.subscribe(&todo)).await {
                Ok(Ok(())) => {
                    if let Some(shared) = self.shared.upgrade() {
                        shared.confirm(&todo);
                    }
                    self.held.extend(todo);
                    Ok(())
                }
                Ok(Err(e)) => {
                    let why = e.to_string();
                    if e.is_io_error() || e.is_connection_dropped() || e.is_unrecoverable_error() {
                        self.lost(healthy, &why);
                    }
                    Err(why)
                }
                Err(_) => {
                    self.lost(healthy, "subscribe timed out");
                    Err(format!("no confirmation within {:?}", self.timeout))
                }
            }
        };
        for (_, reply) in pending.drain(..) {
            let _ = reply.send(outcome.clone());
        }
    }

    async fn unsubscribe(&mut self, channel: &str, healthy: &mut bool) {
        let resubscribed = self
            .shared
            .upgrade()
            .is_none_or(|s| s.is_subscribed(channel));
        if resubscribed || !*healthy {
            // A new local subscription took the channel again (its subscribe command is
            // queued behind this one), or the connection is gone and with it the channel.
            return;
        }
        self.held.remove(channel);
        match timeout(self.timeout, self.conn.unsubscribe(channel)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) if e.is_io_error() || e.is_connection_dropped() => {
                self.lost(healthy, &e.to_string());
            }
            Ok(Err(e)) => tracing::debug!(error = %e, channel, "unsubscribe failed"),
            Err(_) => self.lost(healthy, "unsubscribe timed out"),
        }
    }

    /// Subscribes every local channel again, on one connection; returns that connection's id.
    async fn resubscribe_all(&mut self) -> Result<Option<u64>, Failure> {
        let before = step("check", timeout(self.timeout, self.conn.check()).await)?.id;
        let channels = match self.shared.upgrade() {
            Some(s) => s.channel_names(),
            None => return Ok(before),
        };
        for chunk in channels.chunks(BATCH) {
            step(
                "subscribe",
                timeout(self.timeout, self.conn.subscribe(chunk)).await,
            )?;
        }
        let after = step("check", timeout(self.timeout, self.conn.check()).await)?.id;
        if before != after {
            return Err("the connection was replaced while subscribing".into());
        }
        if let Some(shared) = self.shared.upgrade() {
            shared.confirm(&channels);
        }
        self.held = channels.into_iter().collect();
        Ok(after)
    }
}

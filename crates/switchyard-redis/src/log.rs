//! [`RedisEventLog`]: one Redis Stream per SSE stream, plus a meta hash per session.

use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use redis::{Script, Value};
use switchyard_protocol::event_id::{EventId, StreamId};
use switchyard_state::{EventLog, Replay, ReplayError, StateError};

use crate::core::Core;
use crate::epoch::mint;
use crate::keys;

/// How often `append` retries when it finds the epoch changed under it.
const EPOCH_RETRIES: usize = 3;

/// Appends one event. KEYS: meta, stream[, epoch]. ARGV: stream name, data, max len,
/// ttl ms, the epoch the caller believes, a candidate epoch to store if there is none.
/// Returns `{1, position}`, or `{2, epoch}` when the epoch is not the one believed.
static APPEND: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if #KEYS > 2 then
  local e = redis.call('GET', KEYS[3])
  if not e then
    e = ARGV[6]
    redis.call('SET', KEYS[3], e)
  end
  if e ~= ARGV[5] then return {2, e} end
end
local n = redis.call('HINCRBY', KEYS[1], 'n:' .. ARGV[1], 1)
if n == 1 then
  -- A stream that outlived its counter by a millisecond must not block position 1.
  redis.call('DEL', KEYS[2])
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], string.format('%d-0', n), 'd', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return {1, n}
",
    )
});

/// Marks a stream closed. KEYS: meta, stream. ARGV: stream name, ttl ms.
static CLOSE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('HSET', KEYS[1], 'c:' .. ARGV[1], '1')
redis.call('HSETNX', KEYS[1], 'n:' .. ARGV[1], 0)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
",
    )
});

/// Reads the events after a position. KEYS: meta, stream[, epoch]. ARGV: stream name,
/// position, position + 1 as an entry id, ttl ms, the id's epoch.
/// Returns `{0, closed, data…}` (the events from position + 1 on, all of them), `{1}` when
/// they are gone, or `{2, epoch}` when the id's epoch is not the current one.
static READ: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if #KEYS > 2 then
  local e = redis.call('GET', KEYS[3])
  if e ~= ARGV[5] then return {2, e or ''} end
end
local last = redis.call('HGET', KEYS[1], 'n:' .. ARGV[1])
if not last then return {1} end
last = tonumber(last)
local after = tonumber(ARGV[2])
if after > last then return {1} end
local out = {0, redis.call('HEXISTS', KEYS[1], 'c:' .. ARGV[1])}
if after < last then
  local entries = redis.call('XRANGE', KEYS[2], ARGV[3], '+')
  if #entries == 0 or entries[1][1] ~= ARGV[3] then return {1} end
  for i = 1, #entries do
    out[i + 2] = entries[i][2][2]
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return out
",
    )
});

/// Per-stream event logs in Redis Streams.
///
/// - `append` is one Lua script: it takes the stream's next position from a counter
///   (`HINCRBY` on the session's meta hash), `XADD`s the event with the position as its
///   entry id (`<n>-0`) under `MAXLEN ~ max_len`, and refreshes the idle TTL of the meta
///   hash and the stream; on a single server it also checks the epoch (see the crate root).
///   It returns once Redis has executed it.
/// - `read_after` is one Lua script, atomic with respect to appends and trimming: it serves
///   every event after the id or answers `Gone`, never a partial replay.
/// - `close` sets a closed marker (and creates the counter at 0 for a stream with no event,
///   so that a resumption after its priming event ends at once instead of being `Gone`).
/// - `remove_session` reads the session's stream names from its meta hash and deletes
///   every key in one `DEL` (two round trips; not on the hot path).
///
/// A session whose log expired while the session lived would restart its positions at 1
/// (under the same epoch): use the session's idle TTL, as [`crate::RedisState`] does.
/// Appending to a closed stream is a caller error; the event is kept and the stream stays
/// closed. A clone is another handle on the same connections.
#[derive(Clone)]
pub struct RedisEventLog {
    core: Arc<Core>,
}

impl std::fmt::Debug for RedisEventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisEventLog")
            .field("max_len_per_stream", &self.core.options.max_len_per_stream)
            .field("idle_ttl", &self.core.options.idle_ttl)
            .finish_non_exhaustive()
    }
}

impl RedisEventLog {
    pub(crate) fn new(core: Arc<Core>) -> Self {
        Self { core }
    }

    /// The keys of a script on one stream: meta, stream, and the epoch on a single server.
    fn script_keys(&self, session: &str, stream: &str) -> Vec<String> {
        let mut keys = vec![keys::log_meta(session), keys::log_stream(session, stream)];
        if !self.core.clustered {
            keys.push(keys::EPOCH.to_owned());
        }
        keys
    }
}

/// The integer at `i` of a script reply.
fn int_at(reply: &[Value], i: usize) -> Result<i64, StateError> {
    match reply.get(i) {
        Some(Value::Int(n)) => Ok(*n),
        other => Err(StateError::Corrupt(format!(
            "event log script: expected an integer, got {other:?}"
        ))),
    }
}

/// The text at `i` of a script reply.
fn text_at(reply: &[Value], i: usize) -> Result<String, StateError> {
    match reply.get(i) {
        Some(Value::BulkString(b)) => String::from_utf8(b.clone())
            .map_err(|_| StateError::Corrupt("event log: an event is not UTF-8".into())),
        other => Err(StateError::Corrupt(format!(
            "event log script: expected a string, got {other:?}"
        ))),
    }
}

#[async_trait]
impl EventLog for RedisEventLog {
    async fn epoch(&self) -> Result<String, StateError> {
        let epoch = self.core.epoch.get(&self.core.conns).await?;
        Ok(String::from(&*epoch))
    }

    async fn append(
        &self,
        session: &str,
        stream: StreamId,
        data: &str,
    ) -> Result<EventId, StateError> {
        let name = keys::stream_name(stream);
        let max_len = self.core.options.max_len_per_stream.max(1);
        let ttl = self.core.ttl_ms();
        for _ in 0..EPOCH_RETRIES {
            let epoch = self.core.epoch.get(&self.core.conns).await?;
            let (keys, name, believed) = (self.script_keys(session, &name), &name, &*epoch);
            let reply: Vec<Value> = self
                .core
                .run("append an event", |mut c| async move {
                    let mut call = APPEND.prepare_invoke();
                    for k in &keys {
                        call.key(k);
                    }
                    call.arg(name)
                        .arg(data)
                        .arg(max_len)
                        .arg(ttl)
                        .arg(believed)
                        .arg(mint());
                    call.invoke_async(&mut c).await
                })
                .await?;
            match int_at(&reply, 0)? {
                1 => return Ok(EventId::new(&*epoch, stream, int_at(&reply, 1)? as u64)),
                _ => {
                    self.core.epoch.observe(&text_at(&reply, 1)?);
                }
            }
        }
        Err(StateError::Unavailable(
            "append an event: the epoch kept changing".into(),
        ))
    }

    async fn close(&self, session: &str, stream: StreamId) -> Result<(), StateError> {
        let name = keys::stream_name(stream);
        let keys = [keys::log_meta(session), keys::log_stream(session, &name)];
        let ttl = self.core.ttl_ms();
        let _: i64 = self
            .core
            .run("close a stream", |mut c| async move {
                CLOSE
                    .key(&keys[0])
                    .key(&keys[1])
                    .arg(&name)
                    .arg(ttl)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(())
    }

    async fn read_after(&self, session: &str, after: &EventId) -> Result<Replay, ReplayError> {
        if self.core.clustered {
            // No atomic check is possible: compare with the (refreshed) cached epoch.
            let epoch = self.core.epoch.get(&self.core.conns).await?;
            if *after.epoch != *epoch {
                return Err(ReplayError::Gone);
            }
        }
        let Some(first) = after.seq.checked_add(1) else {
            return Err(ReplayError::Gone);
        };
        let name = keys::stream_name(after.stream);
        let keys = self.script_keys(session, &name);
        let ttl = self.core.ttl_ms();
        let reply: Vec<Value> = self
            .core
            .run("read events", |mut c| async move {
                let mut call = READ.prepare_invoke();
                for k in &keys {
                    call.key(k);
                }
                call.arg(&name)
                    .arg(after.seq)
                    .arg(format!("{first}-0"))
                    .arg(ttl)
                    .arg(&after.epoch);
                call.invoke_async(&mut c).await
            })
            .await?;
        match int_at(&reply, 0)? {
            0 => {
                let closed = int_at(&reply, 1)? == 1;
                let events = (2..reply.len())
                    .zip(first..)
                    .map(|(i, seq)| {
                        let id = EventId::new(after.epoch.as_str(), after.stream, seq);
                        Ok((id, text_at(&reply, i)?))
                    })
                    .collect::<Result<_, StateError>>()?;
                if !self.core.clustered {
                    self.core.epoch.observe(&after.epoch);
                }
                Ok(Replay { events, closed })
            }
            1 => Err(ReplayError::Gone),
            _ => {
                match text_at(&reply, 1)?.as_str() {
                    "" => self.core.epoch.invalidate(),
                    current => {
                        self.core.epoch.observe(current);
                    }
                }
                Err(ReplayError::Gone)
            }
        }
    }

    async fn remove_session(&self, session: &str) -> Result<(), StateError> {
        let meta = keys::log_meta(session);
        let fields: Vec<String> = self
            .core
            .run("list a session's streams", |mut c| {
                let meta = meta.clone();
                async move { redis::cmd("HKEYS").arg(meta).query_async(&mut c).await }
            })
            .await?;
        let mut doomed = vec![meta];
        doomed.extend(
            fields
                .iter()
                .filter_map(|f| f.strip_prefix(keys::COUNTER_PREFIX))
                .map(|stream| keys::log_stream(session, stream)),
        );
        let _: i64 = self
            .core
            .run("remove a session's log", |mut c| async move {
                redis::cmd("DEL").arg(&doomed).query_async(&mut c).await
            })
            .await?;
        Ok(())
    }
}

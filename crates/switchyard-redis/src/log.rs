//! [`RedisEventLog`]: one Redis Stream per SSE stream, plus a meta hash per session, and
//! one Redis Stream of broadcasts.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use redis::{Script, Value};
use switchyard_protocol::event_id::{EventId, StreamId, is_valid_epoch};
use switchyard_state::log::mint_epoch as mint;
use switchyard_state::{Attachment, EventLog, Owned, Replay, ReplayError, StateError};

use crate::core::Core;
use crate::keys;

/// Broadcasts returned by one `broadcasts_after`.
const BROADCAST_PAGE: usize = 256;

/// The Lua that appends one event: `add(meta, stream, name, data, max_len)` takes the
/// stream's next position from its counter and `XADD`s the event under it.
const ADD: &str = r"
local function add(meta, stream, name, data, max_len)
  local n = redis.call('HINCRBY', meta, 'n:' .. name, 1)
  if n == 1 then
    -- A stream that outlived its counter (the meta hash was lost) must not block position 1.
    redis.call('DEL', stream)
  end
  redis.call('XADD', stream, 'MAXLEN', '~', max_len, string.format('%d-0', n), 'd', data)
  return n
end
local function touch(meta, stream, ttl)
  redis.call('PEXPIRE', meta, ttl)
  redis.call('PEXPIRE', stream, ttl)
end
";

/// A script made of [`ADD`] and `body`.
fn script(body: &str) -> Script {
    Script::new(&format!("{ADD}\n{body}"))
}

/// Appends one event. KEYS: meta, stream. ARGV: stream name, data, max len, ttl ms, a
/// candidate epoch for a log that has none. Returns `{epoch, position}`.
static APPEND: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local e = redis.call('HGET', KEYS[1], 'e')
if not e then
  e = ARGV[5]
  redis.call('HSET', KEYS[1], 'e', e)
end
local n = add(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3])
touch(KEYS[1], KEYS[2], ARGV[4])
return {e, n}
",
    )
});

/// Makes an attachment the owner of the standalone stream. KEYS: meta. ARGV: stream name,
/// owner, broadcast head, candidate epoch, ttl ms. Returns `{epoch, cursor}`.
static ATTACH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local e = redis.call('HGET', KEYS[1], 'e')
if not e then
  e = ARGV[4]
  redis.call('HSET', KEYS[1], 'e', e)
end
redis.call('HSET', KEYS[1], 'os', ARGV[1], 'oo', ARGV[2])
redis.call('HSETNX', KEYS[1], 'n:' .. ARGV[1], 0)
redis.call('HSETNX', KEYS[1], 'bc', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {e, redis.call('HGET', KEYS[1], 'bc')}
",
    )
});

/// Appends for the owner of the standalone stream. KEYS: meta, stream. ARGV: stream name,
/// owner, broadcast number (empty: none), data, `1` if there is data, max len, ttl ms.
/// Returns `{0}` (not the owner), `{1}` (skipped) or `{2, epoch, position}`.
static OWNED: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
if redis.call('HGET', KEYS[1], 'os') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'oo') ~= ARGV[2] then
  return {0}
end
local e = redis.call('HGET', KEYS[1], 'e')
if not e then return {0} end
if ARGV[3] ~= '' then
  local c = tonumber(redis.call('HGET', KEYS[1], 'bc') or '0')
  if tonumber(ARGV[3]) <= c then return {1} end
  redis.call('HSET', KEYS[1], 'bc', ARGV[3])
end
if ARGV[5] ~= '1' then
  redis.call('PEXPIRE', KEYS[1], ARGV[7])
  return {1}
end
local n = add(KEYS[1], KEYS[2], ARGV[1], ARGV[4], ARGV[6])
touch(KEYS[1], KEYS[2], ARGV[7])
return {2, e, n}
",
    )
});

/// Marks a stream closed and drops its lease. KEYS: meta, stream, lease. ARGV: stream
/// name, ttl ms.
static CLOSE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('HSET', KEYS[1], 'c:' .. ARGV[1], '1')
redis.call('HSETNX', KEYS[1], 'n:' .. ARGV[1], 0)
redis.call('DEL', KEYS[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
",
    )
});

/// Reads the events after a position. KEYS: meta, stream, lease. ARGV: stream name,
/// position, position + 1 as an entry id, ttl ms, the id's epoch.
/// Returns `{0, closed, owner, orphaned, data…}` (the events from position + 1 on, all of
/// them), or `{1}` when they are gone (another epoch, an unknown stream, trimmed).
static READ: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HGET', KEYS[1], 'e') ~= ARGV[5] then return {1} end
local last = redis.call('HGET', KEYS[1], 'n:' .. ARGV[1])
if not last then return {1} end
last = tonumber(last)
local after = tonumber(ARGV[2])
if after > last then return {1} end
local closed = redis.call('HEXISTS', KEYS[1], 'c:' .. ARGV[1])
local owner = ''
if redis.call('HGET', KEYS[1], 'os') == ARGV[1] then
  owner = redis.call('HGET', KEYS[1], 'oo') or ''
end
local orphaned = 0
if closed == 0 and redis.call('HEXISTS', KEYS[1], 'q:' .. ARGV[1]) == 1
    and redis.call('EXISTS', KEYS[3]) == 0 then
  orphaned = 1
end
local out = {0, closed, owner, orphaned}
if after < last then
  local entries = redis.call('XRANGE', KEYS[2], ARGV[3], '+')
  if #entries == 0 or entries[1][1] ~= ARGV[3] then return {1} end
  for i = 1, #entries do
    out[i + 4] = entries[i][2][2]
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return out
",
    )
});

/// Takes or renews a producer lease. KEYS: meta, stream, lease. ARGV: stream name,
/// requests, lease ms, ttl ms, a candidate epoch. Returns the log's epoch.
static LEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local e = redis.call('HGET', KEYS[1], 'e')
if not e then
  e = ARGV[5]
  redis.call('HSET', KEYS[1], 'e', e)
end
redis.call('SET', KEYS[3], '1', 'PX', ARGV[3])
redis.call('HSET', KEYS[1], 'q:' .. ARGV[1], ARGV[2])
redis.call('HSETNX', KEYS[1], 'n:' .. ARGV[1], 0)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return e
",
    )
});

/// Ends an orphaned stream. KEYS: meta, stream, lease. ARGV: stream name, max len, ttl ms,
/// the final events…. Returns 1 if it did.
static REAP: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
if redis.call('HEXISTS', KEYS[1], 'c:' .. ARGV[1]) == 1 then return 0 end
if redis.call('HEXISTS', KEYS[1], 'q:' .. ARGV[1]) == 0 then return 0 end
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
if not redis.call('HGET', KEYS[1], 'e') then return 0 end
for i = 4, #ARGV do
  add(KEYS[1], KEYS[2], ARGV[1], ARGV[i], ARGV[2])
end
redis.call('HSET', KEYS[1], 'c:' .. ARGV[1], '1')
touch(KEYS[1], KEYS[2], ARGV[3])
return 1
",
    )
});

/// The orphaned streams of a session. KEYS: meta. ARGV: the prefix of its lease keys.
/// Returns `{name, requests, …}`.
static ORPHANS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local out = {}
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  local f = fields[i]
  if string.sub(f, 1, 2) == 'q:' then
    local name = string.sub(f, 3)
    if redis.call('HEXISTS', KEYS[1], 'c:' .. name) == 0
        and redis.call('EXISTS', ARGV[1] .. name) == 0 then
      out[#out + 1] = name
      out[#out + 1] = fields[i + 1]
    end
  end
end
return out
",
    )
});

/// Logs a broadcast. KEYS: the broadcast stream, its counter. ARGV: data, max len.
/// A counter that is missing (a new or emptied Redis) starts at the server's clock in
/// microseconds, so numbers never go back below ones handed out before.
static BROADCAST: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[2]) == 0 then
  local t = redis.call('TIME')
  redis.call('SET', KEYS[2], t[1] .. string.format('%06d', tonumber(t[2])))
end
local n = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], string.format('%d-0', n), 'd', ARGV[1])
return n
",
    )
});

/// Per-stream event logs in Redis Streams.
///
/// Every operation on a session's log is one Lua script on that session's slot, atomic with
/// respect to every other: the epoch, counters, owner, broadcast cursor and closed markers of
/// a session live in its meta hash, its events in one Redis Stream per SSE stream, and a
/// request stream's producer lease in a key of its own that expires (see the crate root).
///
/// - `append` takes the stream's next position from a counter (`HINCRBY`), `XADD`s the event
///   with the position as its entry id (`<n>-0`) under `MAXLEN ~ max_len`, and refreshes the
///   idle TTL of the meta hash and the stream. A meta hash that is missing (a new session,
///   or one lost to eviction or expiry) gets a freshly minted epoch first, so an id is never
///   issued twice.
/// - `read_after` serves every event after the id or answers `Gone`, never a partial replay.
/// - `close` sets a closed marker (and creates the counter at 0 for a stream with no event,
///   so that a resumption after its priming event ends at once instead of being `Gone`).
/// - `remove_session` reads the session's stream names from its meta hash and deletes
///   every key in one `DEL` (two round trips; not on the hot path).
/// - Broadcasts go to one Redis Stream (`sy:{b}`) with a counter beside it.
///
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

    fn max_len(&self) -> usize {
        self.core.options.max_len_per_stream.max(1)
    }

    /// Runs `script` on one stream's keys (meta, stream, and its lease with `lease`).
    async fn run_on<T: redis::FromRedisValue + Send>(
        &self,
        what: &'static str,
        script: &Script,
        (session, name, lease): (&str, &str, bool),
        args: Vec<String>,
    ) -> Result<T, StateError> {
        let mut keys = vec![keys::log_meta(session), keys::log_stream(session, name)];
        if lease {
            keys.push(keys::lease(session, name));
        }
        let core = &self.core;
        core.run(what, |mut c| async move {
            let mut call = script.prepare_invoke();
            for k in &keys {
                call.key(k);
            }
            for a in &args {
                call.arg(a);
            }
            let reply = call.invoke_async(&mut c).await?;
            if writes(script) {
                core.wait_replicas(&mut c).await?;
            }
            Ok(reply)
        })
        .await
    }
}

/// Whether `script` logs an event (and so waits for `redis.wait_replicas` replicas).
fn writes(script: &Script) -> bool {
    std::ptr::eq(script, &*APPEND) || std::ptr::eq(script, &*OWNED)
}

/// The integer at `i` of a script reply.
fn int_at(reply: &[Value], i: usize) -> Result<i64, StateError> {
    match reply.get(i) {
        Some(Value::Int(n)) => Ok(*n),
        other => Err(StateError::corrupt(format!(
            "event log script: expected an integer, got {other:?}"
        ))),
    }
}

/// The text at `i` of a script reply.
fn text_at(reply: &[Value], i: usize) -> Result<String, StateError> {
    match reply.get(i) {
        Some(Value::BulkString(b)) => String::from_utf8(b.clone())
            .map_err(|e| StateError::corrupt_from("event log: an event is not UTF-8", e)),
        other => Err(StateError::corrupt(format!(
            "event log script: expected a string, got {other:?}"
        ))),
    }
}

/// An epoch read from Redis, checked.
fn epoch_at(reply: &[Value], i: usize) -> Result<String, StateError> {
    let e = text_at(reply, i)?;
    if !is_valid_epoch(&e) {
        return Err(StateError::corrupt(format!("event log: bad epoch {e:?}")));
    }
    Ok(e)
}

#[async_trait]
impl EventLog for RedisEventLog {
    async fn append(
        &self,
        session: &str,
        stream: StreamId,
        data: &str,
    ) -> Result<EventId, StateError> {
        let name = keys::stream_name(stream);
        let args = vec![
            name.clone(),
            data.to_owned(),
            self.max_len().to_string(),
            self.core.ttl_ms().to_string(),
            mint(),
        ];
        let reply: Vec<Value> = self
            .run_on("append an event", &APPEND, (session, &name, false), args)
            .await?;
        Ok(EventId::new(
            epoch_at(&reply, 0)?,
            stream,
            int_at(&reply, 1)? as u64,
        ))
    }

    async fn close(&self, session: &str, stream: StreamId) -> Result<(), StateError> {
        let name = keys::stream_name(stream);
        let args = vec![name.clone(), self.core.ttl_ms().to_string()];
        let _: i64 = self
            .run_on("close a stream", &CLOSE, (session, &name, true), args)
            .await?;
        Ok(())
    }

    async fn read_after(&self, session: &str, after: &EventId) -> Result<Replay, ReplayError> {
        let Some(first) = after.seq.checked_add(1) else {
            return Err(ReplayError::Gone);
        };
        let name = keys::stream_name(after.stream);
        let args = vec![
            name.clone(),
            after.seq.to_string(),
            format!("{first}-0"),
            self.core.ttl_ms().to_string(),
            after.epoch.clone(),
        ];
        let reply: Vec<Value> = self
            .run_on("read events", &READ, (session, &name, true), args)
            .await?;
        if int_at(&reply, 0)? != 0 {
            return Err(ReplayError::Gone);
        }
        let events = (4..reply.len())
            .zip(first..)
            .map(|(i, seq)| {
                let id = EventId::new(after.epoch.as_str(), after.stream, seq);
                Ok((id, text_at(&reply, i)?))
            })
            .collect::<Result<_, StateError>>()?;
        let owner = Some(text_at(&reply, 2)?).filter(|o| !o.is_empty());
        Ok(Replay {
            events,
            closed: int_at(&reply, 1)? == 1,
            owner,
            orphaned: int_at(&reply, 3)? == 1,
        })
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
        for f in &fields {
            if let Some(stream) = f.strip_prefix(keys::COUNTER_PREFIX) {
                doomed.push(keys::log_stream(session, stream));
                doomed.push(keys::lease(session, stream));
            } else if let Some(stream) = f.strip_prefix(keys::REQUESTS_PREFIX) {
                doomed.push(keys::lease(session, stream));
            }
        }
        let _: i64 = self
            .core
            .run("remove a session's log", |mut c| async move {
                redis::cmd("DEL").arg(&doomed).query_async(&mut c).await
            })
            .await?;
        Ok(())
    }

    async fn attach(
        &self,
        session: &str,
        stream: StreamId,
        owner: &str,
        head: u64,
    ) -> Result<Attachment, StateError> {
        let name = keys::stream_name(stream);
        let meta = keys::log_meta(session);
        let args = [
            name,
            owner.to_owned(),
            head.to_string(),
            mint(),
            self.core.ttl_ms().to_string(),
        ];
        let reply: Vec<Value> = self
            .core
            .run("attach a stream", |mut c| async move {
                let mut call = ATTACH.key(&meta);
                for a in &args {
                    call.arg(a);
                }
                call.invoke_async(&mut c).await
            })
            .await?;
        let cursor = text_at(&reply, 1)?
            .parse()
            .map_err(|_| StateError::corrupt("event log: bad broadcast cursor"))?;
        Ok(Attachment {
            epoch: epoch_at(&reply, 0)?,
            cursor,
        })
    }

    async fn append_owned(
        &self,
        session: &str,
        stream: StreamId,
        owner: &str,
        broadcast: Option<u64>,
        data: Option<&str>,
    ) -> Result<Owned, StateError> {
        let name = keys::stream_name(stream);
        let args = vec![
            name.clone(),
            owner.to_owned(),
            broadcast.map(|b| b.to_string()).unwrap_or_default(),
            data.unwrap_or_default().to_owned(),
            if data.is_some() { "1" } else { "0" }.to_owned(),
            self.max_len().to_string(),
            self.core.ttl_ms().to_string(),
        ];
        let reply: Vec<Value> = self
            .run_on("append as owner", &OWNED, (session, &name, false), args)
            .await?;
        Ok(match int_at(&reply, 0)? {
            0 => Owned::NotOwner,
            1 => Owned::Skipped,
            _ => Owned::Appended(EventId::new(
                epoch_at(&reply, 1)?,
                stream,
                int_at(&reply, 2)? as u64,
            )),
        })
    }

    async fn broadcast(&self, data: &str) -> Result<u64, StateError> {
        let max_len = self.core.options.broadcast_log_max_len.max(1);
        let n: i64 = self
            .core
            .run("log a broadcast", |mut c| async move {
                let n = BROADCAST
                    .key(keys::BROADCASTS)
                    .key(keys::BROADCAST_SEQ)
                    .arg(data)
                    .arg(max_len)
                    .invoke_async(&mut c)
                    .await?;
                self.core.wait_replicas(&mut c).await?;
                Ok(n)
            })
            .await?;
        Ok(n as u64)
    }

    async fn broadcast_head(&self) -> Result<u64, StateError> {
        let n: Option<u64> = self
            .core
            .run("read the broadcast head", |mut c| async move {
                redis::cmd("GET")
                    .arg(keys::BROADCAST_SEQ)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok(n.unwrap_or(0))
    }

    async fn broadcasts_after(&self, seq: u64) -> Result<Vec<(u64, String)>, StateError> {
        let from = format!("{}-0", seq.saturating_add(1));
        let reply: Vec<(String, HashMap<String, String>)> = self
            .core
            .run("read broadcasts", |mut c| async move {
                redis::cmd("XRANGE")
                    .arg(keys::BROADCASTS)
                    .arg(from)
                    .arg("+")
                    .arg("COUNT")
                    .arg(BROADCAST_PAGE)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        reply
            .into_iter()
            .map(|(id, mut fields)| {
                let n = id
                    .strip_suffix("-0")
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| StateError::corrupt("broadcast log: bad entry id"))?;
                let data = fields
                    .remove("d")
                    .ok_or_else(|| StateError::corrupt("broadcast log: no data"))?;
                Ok((n, data))
            })
            .collect()
    }

    async fn lease(
        &self,
        session: &str,
        stream: StreamId,
        requests: &str,
        ttl: Duration,
    ) -> Result<String, StateError> {
        let name = keys::stream_name(stream);
        let args = vec![
            name.clone(),
            requests.to_owned(),
            (ttl.as_millis() as u64).max(1).to_string(),
            self.core.ttl_ms().to_string(),
            mint(),
        ];
        let epoch: String = self
            .run_on("renew a lease", &LEASE, (session, &name, true), args)
            .await?;
        if !is_valid_epoch(&epoch) {
            return Err(StateError::corrupt(format!(
                "event log: bad epoch {epoch:?}"
            )));
        }
        Ok(epoch)
    }

    async fn leased_requests(
        &self,
        session: &str,
        stream: StreamId,
    ) -> Result<Option<String>, StateError> {
        let meta = keys::log_meta(session);
        let field = format!("{}{}", keys::REQUESTS_PREFIX, keys::stream_name(stream));
        self.core
            .run("read a lease", |mut c| async move {
                redis::cmd("HGET")
                    .arg(meta)
                    .arg(field)
                    .query_async(&mut c)
                    .await
            })
            .await
    }

    async fn orphans(&self, session: &str) -> Result<Vec<(StreamId, String)>, StateError> {
        let meta = keys::log_meta(session);
        let prefix = keys::lease(session, "");
        let flat: Vec<String> = self
            .core
            .run("list orphaned streams", |mut c| async move {
                ORPHANS.key(&meta).arg(&prefix).invoke_async(&mut c).await
            })
            .await?;
        flat.chunks_exact(2)
            .map(|pair| {
                let stream = pair[0]
                    .parse()
                    .map_err(|_| StateError::corrupt("event log: bad stream name"))?;
                Ok((stream, pair[1].clone()))
            })
            .collect()
    }

    async fn reap(
        &self,
        session: &str,
        stream: StreamId,
        finals: &[String],
    ) -> Result<bool, StateError> {
        let name = keys::stream_name(stream);
        let mut args = vec![
            name.clone(),
            self.max_len().to_string(),
            self.core.ttl_ms().to_string(),
        ];
        args.extend(finals.iter().cloned());
        let reaped: i64 = self
            .run_on(
                "end an orphaned stream",
                &REAP,
                (session, &name, true),
                args,
            )
            .await?;
        Ok(reaped == 1)
    }
}

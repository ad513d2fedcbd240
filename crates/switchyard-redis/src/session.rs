//! [`RedisSessionStore`]: one hash per session, `sy:s:{<id>}`, and a per-node cache of the
//! decoded records validated by the hash's version on every read.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::Script;
use switchyard_state::{
    SessionPatch, SessionRecord, SessionStore, StateError, Transport, UpstreamSession, UpstreamSwap,
};

use crate::core::Core;
use crate::keys;

/// Creates the hash unless it exists. KEYS: session. ARGV: ttl ms, then field, value pairs.
static CREATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 2, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('HSET', KEYS[1], 'v', '1')
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
",
    )
});

/// Applies one patch (`SessionPatch::apply`, field by field) if the hash exists.
/// KEYS: session. ARGV: ttl ms, op, operands.
static UPDATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local k = KEYS[1]
if redis.call('EXISTS', k) == 0 then return 0 end
local op = ARGV[2]
if op == 'negotiated' then
  redis.call('HSET', k, 'protocol_version', ARGV[3], 'client_info', ARGV[4], 'client_capabilities', ARGV[5])
elseif op == 'initialized' then
  redis.call('HSET', k, 'initialized', '1')
elseif op == 'log_level' then
  redis.call('HSET', k, 'log_level', ARGV[3])
elseif op == 'subscribe' then
  redis.call('HSET', k, 'sub:' .. ARGV[3], '1')
elseif op == 'unsubscribe' then
  redis.call('HDEL', k, 'sub:' .. ARGV[3])
elseif op == 'get_stream' then
  redis.call('HSET', k, 'get_stream', ARGV[3])
else
  return redis.error_reply('unknown session patch ' .. op)
end
redis.call('HINCRBY', k, 'v', 1)
redis.call('PEXPIRE', k, ARGV[1])
return 1
",
    )
});

/// Compare-and-set of one upstream session field `up:<name>`. KEYS: session. ARGV: ttl ms,
/// field, expected ('' = absent), new ('' = remove). Returns -1 when the session is gone, 1
/// when swapped, else {0, current or false}.
static SWAP_UPSTREAM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local k = KEYS[1]
if redis.call('EXISTS', k) == 0 then return -1 end
local cur = redis.call('HGET', k, ARGV[2])
local want = ARGV[3]
if (want == '' and cur ~= false) or (want ~= '' and cur ~= want) then
  return {0, cur}
end
if ARGV[4] == '' then
  redis.call('HDEL', k, ARGV[2])
else
  redis.call('HSET', k, ARGV[2], ARGV[4])
end
redis.call('HINCRBY', k, 'v', 1)
redis.call('PEXPIRE', k, ARGV[1])
return 1
",
    )
});

/// The prefix of a subscribed resource URI's field.
const SUB_PREFIX: &str = "sub:";

/// The prefix of an upstream session's field (its value: [`UpstreamSession::encode`]).
const UP_PREFIX: &str = "up:";

/// Sessions in Redis, each a hash `sy:s:{<id>}` that expires after the idle TTL.
///
/// - Every hash carries a version `v`, set at creation and incremented by every patch.
/// - `get` is one round trip: a script that returns nothing when the session is gone, only
///   the version when it matches the record this node has cached (the common case: a few
///   bytes to read, nothing to decode), or the whole hash when it changed or is not cached.
///   A cached record is therefore never served after a `delete` or a patch made on any node
///   has returned — the cache saves decoding, never the round trip.
/// - `get` refreshes the idle TTL when this node last did so more than a quarter of the TTL
///   ago (and on every read that is not a cache hit), so a session read at least every
///   three quarters of the TTL never expires, and one left alone expires within the TTL.
/// - `create` and `update` are one Lua script each, so a patch is atomic with respect to
///   every other patch of the session, on any node; `delete` is one `DEL`.
/// - The cache holds at most [`crate::RedisOptions::session_cache`] records and about
///   [`crate::RedisOptions::session_cache_bytes`] bytes of them (`quick_cache`: sharded,
///   S3-FIFO eviction, so a session read once does not push out the ones read all the time;
///   a record weighs the bytes of its stored fields, and at least its share of the bytes
///   for the count, so both bounds hold); a session not in it costs a full read, nothing more.
/// - A clone is another handle on the same connections and the same cache; the store of a
///   [`crate::RedisState::worker`] handle shares the cache, not the connections.
#[derive(Clone)]
pub struct RedisSessionStore {
    core: Arc<Core>,
    /// `None` when `session_cache` is 0.
    cache: Option<Arc<quick_cache::sync::Cache<String, Cached, ByBytes>>>,
}

/// A decoded record, the version it was read at, when this node last refreshed its TTL, and
/// what it weighs in the cache.
#[derive(Clone)]
struct Cached {
    version: String,
    record: Arc<SessionRecord>,
    refreshed: Instant,
    weight: u64,
}

/// Weighs a cached record by the bytes of its stored fields (plus a fixed overhead), and at
/// least `floor`: the byte bound divided by the count bound.
#[derive(Clone)]
struct ByBytes {
    floor: u64,
}

/// What a cached record costs beyond its fields' bytes (the entry, the `Arc`, the key).
const RECORD_OVERHEAD: u64 = 256;

impl quick_cache::Weighter<String, Cached> for ByBytes {
    fn weight(&self, key: &String, val: &Cached) -> u64 {
        (key.len() as u64 + val.weight).max(self.floor)
    }
}

/// The bytes a record's stored fields take.
fn weigh(fields: &HashMap<String, String>) -> u64 {
    RECORD_OVERHEAD
        + fields
            .iter()
            .map(|(k, v)| (k.len() + v.len()) as u64)
            .sum::<u64>()
}

impl std::fmt::Debug for RedisSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSessionStore")
            .field("idle_ttl", &self.core.options.idle_ttl)
            .finish_non_exhaustive()
    }
}

impl RedisSessionStore {
    pub(crate) fn new(core: Arc<Core>) -> Self {
        let limit = core.options.session_cache;
        let bytes = core.options.session_cache_bytes.max(1);
        let cache = (limit > 0).then(|| {
            let floor = (bytes / limit as u64).max(1);
            Arc::new(quick_cache::sync::Cache::with_weighter(
                limit,
                bytes,
                ByBytes { floor },
            ))
        });
        Self { core, cache }
    }

    /// The same cache, on `core`'s connections.
    pub(crate) fn on(&self, core: Arc<Core>) -> Self {
        Self {
            core,
            cache: self.cache.clone(),
        }
    }

    fn cached(&self, id: &str) -> Option<Cached> {
        self.cache.as_ref()?.get(id)
    }

    fn forget(&self, id: &str) {
        if let Some(cache) = &self.cache {
            cache.remove(id);
        }
    }

    fn remember(
        &self,
        id: &str,
        version: String,
        record: Arc<SessionRecord>,
        weight: u64,
        now: Instant,
    ) {
        if let Some(cache) = &self.cache {
            let entry = Cached {
                version,
                record,
                refreshed: now,
                weight,
            };
            cache.insert(id.to_owned(), entry);
        }
    }
}

fn transport_name(t: Transport) -> &'static str {
    match t {
        Transport::StreamableHttp => "streamable_http",
        Transport::HttpSse => "http_sse",
    }
}

fn flag(b: bool) -> &'static str {
    if b { "1" } else { "0" }
}

/// The record as hash fields.
fn encode(rec: &SessionRecord) -> Vec<(String, String)> {
    let mut fields = vec![
        ("principal".to_owned(), rec.principal.clone()),
        (
            "transport".to_owned(),
            transport_name(rec.transport).to_owned(),
        ),
        ("protocol_version".to_owned(), rec.protocol_version.clone()),
        ("client_info".to_owned(), rec.client_info.to_string()),
        (
            "client_capabilities".to_owned(),
            rec.client_capabilities.to_string(),
        ),
        ("initialized".to_owned(), flag(rec.initialized).to_owned()),
        ("created_at_ms".to_owned(), rec.created_at_ms.to_string()),
    ];
    if let Some(level) = &rec.log_level {
        fields.push(("log_level".to_owned(), level.clone()));
    }
    if let Some(stream) = &rec.get_stream {
        fields.push(("get_stream".to_owned(), stream.clone()));
    }
    for uri in &rec.subscriptions {
        fields.push((format!("{SUB_PREFIX}{uri}"), "1".to_owned()));
    }
    for (name, up) in &rec.upstreams {
        fields.push((format!("{UP_PREFIX}{name}"), up.encode()));
    }
    fields
}

/// The record from its hash fields.
fn decode(id: &str, mut h: HashMap<String, String>) -> Result<SessionRecord, StateError> {
    let corrupt = |what: &str| StateError::corrupt(format!("session {id}: {what}"));
    let log_level = h.remove("log_level");
    let get_stream = h.remove("get_stream");
    let up_fields: Vec<String> = h
        .keys()
        .filter(|k| k.starts_with(UP_PREFIX))
        .cloned()
        .collect();
    let mut upstreams = std::collections::BTreeMap::new();
    for field in up_fields {
        let value = h.remove(&field).unwrap_or_default();
        let up =
            UpstreamSession::decode(&value).map_err(|e| corrupt(&format!("field {field}: {e}")))?;
        upstreams.insert(field[UP_PREFIX.len()..].to_owned(), up);
    }
    let mut take = |f: &str| h.remove(f).ok_or_else(|| corrupt(&format!("no field {f}")));
    let json = |f: &str, v: String| {
        serde_json::from_str(&v).map_err(|e| corrupt(&format!("field {f}: {e}")))
    };
    let bool_field = |f: &str, v: String| match v.as_str() {
        "1" => Ok(true),
        "0" => Ok(false),
        _ => Err(corrupt(&format!("field {f} is {v:?}"))),
    };
    let transport = match take("transport")?.as_str() {
        "streamable_http" => Transport::StreamableHttp,
        "http_sse" => Transport::HttpSse,
        other => return Err(corrupt(&format!("unknown transport {other:?}"))),
    };
    let rec = SessionRecord {
        id: id.to_owned(),
        principal: take("principal")?,
        transport,
        protocol_version: take("protocol_version")?,
        client_info: json("client_info", take("client_info")?)?,
        client_capabilities: json("client_capabilities", take("client_capabilities")?)?,
        initialized: bool_field("initialized", take("initialized")?)?,
        log_level,
        subscriptions: BTreeSet::new(),
        created_at_ms: take("created_at_ms")?
            .parse()
            .map_err(|_| corrupt("created_at_ms is not a number"))?,
        get_stream,
        upstreams,
    };
    Ok(SessionRecord {
        subscriptions: h
            .into_keys()
            .filter_map(|k| k.strip_prefix(SUB_PREFIX).map(str::to_owned))
            .collect(),
        ..rec
    })
}

/// The script operands of a patch.
fn patch_args(patch: &SessionPatch) -> (&'static str, Vec<String>) {
    match patch {
        SessionPatch::Negotiated {
            protocol_version,
            client_info,
            client_capabilities,
        } => (
            "negotiated",
            vec![
                protocol_version.clone(),
                client_info.to_string(),
                client_capabilities.to_string(),
            ],
        ),
        SessionPatch::Initialized => ("initialized", vec![]),
        SessionPatch::LogLevel(l) => ("log_level", vec![l.clone()]),
        SessionPatch::Subscribe(u) => ("subscribe", vec![u.clone()]),
        SessionPatch::Unsubscribe(u) => ("unsubscribe", vec![u.clone()]),
        SessionPatch::GetStream(s) => ("get_stream", vec![s.clone()]),
    }
}

#[async_trait]
impl SessionStore for RedisSessionStore {
    async fn create(&self, record: SessionRecord) -> Result<(), StateError> {
        let key = keys::session(&record.id);
        let fields = encode(&record);
        let ttl = self.core.ttl_ms();
        let created: i64 = self
            .core
            .run("create a session", |mut c| async move {
                let mut call = CREATE.key(key);
                call.arg(ttl);
                for (f, v) in &fields {
                    call.arg(f).arg(v);
                }
                call.invoke_async(&mut c).await
            })
            .await?;
        if created == 1 {
            Ok(())
        } else {
            Err(StateError::Conflict(format!("session {}", record.id)))
        }
    }

    /// A read is plain commands, one round trip when the node has the record cached: `HGET v`
    /// (pipelined with `PEXPIRE` once a quarter of the TTL has passed since this node last
    /// refreshed it). The cached record stands when the version is the same; otherwise — or
    /// with nothing cached — `HGETALL` (pipelined with `PEXPIRE`) reads the whole hash, and an
    /// empty one means the session is gone. A hash without `v` (written before versions
    /// existed) reads as version `0`, always through `HGETALL`.
    async fn get(&self, id: &str) -> Result<Option<Arc<SessionRecord>>, StateError> {
        let ttl = self.core.ttl_ms();
        let now = Instant::now();
        if let Some(c) = self.cached(id) {
            let due = now.duration_since(c.refreshed) >= Duration::from_millis(ttl / 4);
            let version = c.version.clone();
            let key = keys::session(id);
            let current: Option<String> = self
                .core
                .run("read a session", |mut c| async move {
                    let mut read = redis::pipe();
                    read.hget(&key, "v");
                    if due {
                        read.pexpire(&key, ttl as i64).ignore();
                    }
                    let (v,): (Option<String>,) = read.query_async(&mut c).await?;
                    Ok(v)
                })
                .await?;
            if current.as_deref() == Some(version.as_str()) {
                if due {
                    // A concurrent read may have cached a newer version meanwhile; putting
                    // this one back only costs that read's successor a full read.
                    self.remember(id, version, c.record.clone(), c.weight, now);
                }
                return Ok(Some(c.record));
            }
            // Changed or gone: read the whole record (one more round trip, once per change).
        }
        let key = keys::session(id);
        let (mut fields,): (HashMap<String, String>,) = self
            .core
            .run("read a session", |mut c| async move {
                redis::pipe()
                    .hgetall(&key)
                    .pexpire(&key, ttl as i64)
                    .ignore()
                    .query_async(&mut c)
                    .await
            })
            .await?;
        if fields.is_empty() {
            self.forget(id);
            return Ok(None);
        }
        let version = fields.remove("v").unwrap_or_else(|| "0".to_owned());
        let weight = weigh(&fields);
        let record = Arc::new(decode(id, fields)?);
        self.remember(id, version, record.clone(), weight, now);
        Ok(Some(record))
    }

    async fn update(&self, id: &str, patch: SessionPatch) -> Result<bool, StateError> {
        let key = keys::session(id);
        let (op, operands) = patch_args(&patch);
        let ttl = self.core.ttl_ms();
        let updated: i64 = self
            .core
            .run("update a session", |mut c| async move {
                let mut call = UPDATE.key(key);
                call.arg(ttl).arg(op);
                for v in &operands {
                    call.arg(v);
                }
                call.invoke_async(&mut c).await
            })
            .await?;
        self.forget(id);
        Ok(updated == 1)
    }

    async fn delete(&self, id: &str) -> Result<bool, StateError> {
        self.forget(id);
        let key = keys::session(id);
        let removed: i64 = self
            .core
            .run("delete a session", |mut c| async move {
                redis::cmd("DEL").arg(key).query_async(&mut c).await
            })
            .await?;
        Ok(removed > 0)
    }

    async fn swap_upstream(
        &self,
        id: &str,
        upstream: &str,
        expected: Option<&UpstreamSession>,
        new: Option<&UpstreamSession>,
    ) -> Result<UpstreamSwap, StateError> {
        let key = keys::session(id);
        let field = format!("{UP_PREFIX}{upstream}");
        let expected = expected.map(UpstreamSession::encode).unwrap_or_default();
        let new = new.map(UpstreamSession::encode).unwrap_or_default();
        let ttl = self.core.ttl_ms();
        let answer: redis::Value = self
            .core
            .run("swap an upstream session", |mut c| async move {
                SWAP_UPSTREAM
                    .key(key)
                    .arg(ttl)
                    .arg(field)
                    .arg(expected)
                    .arg(new)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        self.forget(id);
        let corrupt = |what: &str| StateError::corrupt(format!("session {id}: {what}"));
        match answer {
            redis::Value::Int(-1) => Ok(UpstreamSwap::NoSession),
            redis::Value::Int(1) => Ok(UpstreamSwap::Swapped),
            redis::Value::Array(items) => match items.get(1) {
                Some(redis::Value::BulkString(b)) => {
                    let up = UpstreamSession::decode(&String::from_utf8_lossy(b))
                        .map_err(|e| corrupt(&format!("upstream {upstream}: {e}")))?;
                    Ok(UpstreamSwap::Current(Some(up)))
                }
                _ => Ok(UpstreamSwap::Current(None)),
            },
            other => Err(corrupt(&format!("unexpected swap answer {other:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_cache_is_bounded_by_bytes_as_well_as_by_count() {
        use quick_cache::Weighter;
        let record = |info: &str| {
            let fields: HashMap<String, String> =
                HashMap::from([("client_info".to_owned(), info.to_owned())]);
            weigh(&fields)
        };
        let small = record("{}");
        let big = record(&"x".repeat(100_000));
        assert!(big > 100_000 && small < 300, "{small} {big}");
        let weigher = ByBytes { floor: 1000 };
        let cached = |weight| Cached {
            version: "1".into(),
            record: Arc::new(SessionRecord {
                id: "s".into(),
                principal: "p".into(),
                transport: Transport::StreamableHttp,
                protocol_version: "2025-11-25".into(),
                client_info: json!({}),
                client_capabilities: json!({}),
                initialized: true,
                log_level: None,
                subscriptions: BTreeSet::new(),
                created_at_ms: 0,
                get_stream: None,
                upstreams: Default::default(),
            }),
            refreshed: Instant::now(),
            weight,
        };
        assert_eq!(
            weigher.weight(&"k".into(), &cached(small)),
            1000,
            "the count's share"
        );
        assert_eq!(weigher.weight(&"k".into(), &cached(big)), big + 1);
        // A cache of 10 records and 10 KB: a 100 KB record does not stay, and small ones
        // stop at the count.
        let cache = quick_cache::sync::Cache::with_weighter(10, 10_000, ByBytes { floor: 1000 });
        cache.insert("big".to_owned(), cached(big));
        assert!(cache.get("big").is_none(), "heavier than the whole cache");
        for i in 0..50 {
            cache.insert(format!("s{i}"), cached(small));
        }
        assert!(cache.len() <= 10, "{}", cache.len());
    }

    #[test]
    fn records_round_trip_through_hash_fields() {
        let rec = SessionRecord {
            id: "s1".into(),
            principal: "p:ü".into(),
            transport: Transport::HttpSse,
            protocol_version: "2024-11-05".into(),
            client_info: json!({"name": "x", "n": [1, 2.5, null]}),
            client_capabilities: json!({}),
            initialized: true,
            log_level: Some("debug".into()),
            subscriptions: BTreeSet::from(["file:///a".into(), "sub:odd".into()]),
            created_at_ms: 42,
            get_stream: Some("g-1".into()),
            upstreams: std::collections::BTreeMap::from([(
                "rails".to_owned(),
                UpstreamSession {
                    session_id: Some("abc".into()),
                    protocol_version: "2025-06-18".into(),
                },
            )]),
        };
        let h: HashMap<String, String> = encode(&rec).into_iter().collect();
        assert_eq!(decode("s1", h), Ok(rec));
    }

    #[test]
    fn a_hash_missing_fields_is_corrupt() {
        let h = HashMap::from([("principal".to_owned(), "p".to_owned())]);
        assert!(matches!(decode("s1", h), Err(StateError::Corrupt { .. })));
    }
}

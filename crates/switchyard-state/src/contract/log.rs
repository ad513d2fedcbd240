//! The [`EventLog`] clauses.

use std::collections::HashSet;
use std::future::Future;

use futures::future::join_all;
use switchyard_protocol::event_id::{EventId, StreamId, is_valid_epoch};

use super::support::{unique, within};
use crate::{EventLog, Replay, ReplayError};

/// The `max_len` of the trimming check.
const SHORT: usize = 4;

/// Appends after which even an approximately trimming log must have dropped a stream's first
/// events, in the trimming check.
const MANY: u64 = 1000;

/// Runs every [`EventLog`] clause.
///
/// `make(max_len)` returns two handles (two "nodes") on one backing that keeps about the last
/// `max_len` events of each stream (more is allowed, as Redis' approximate `MAXLEN ~` does;
/// but after `max_len + 1000` appends the first event must be gone). It is called with 1024
/// and with 4.
pub async fn event_log<L, F, Fut>(mut make: F)
where
    L: EventLog,
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = (L, L)>,
{
    let (a, b) = within("make(1024)", make(1024)).await;
    positions_per_stream(&a, &b).await;
    read_after_is_exact(&a, &b).await;
    close_marks_the_stream(&a, &b).await;
    foreign_ids_are_gone(&a, &b).await;
    concurrent_appends(&a, &b).await;
    remove_session_drops_streams(&a, &b).await;
    a_lost_log_never_reissues_an_id(&a, &b).await;
    super::log_once::owner_appends_once(&a, &b).await;
    super::log_once::broadcasts_once(&a, &b).await;
    super::log_once::orphans_are_reaped(&a, &b).await;
    drop((a, b));

    let (a, b) = within("make(4)", make(SHORT)).await;
    trimmed_window_is_gone(&a, &b).await;
}

pub(super) async fn append<L: EventLog>(
    l: &L,
    session: &str,
    stream: StreamId,
    data: &str,
) -> EventId {
    within("append", l.append(session, stream, data))
        .await
        .unwrap_or_else(|e| panic!("contract: append failed: {e}"))
}

pub(super) async fn read<L: EventLog>(
    l: &L,
    session: &str,
    after: &EventId,
) -> Result<Replay, ReplayError> {
    match within("read_after", l.read_after(session, after)).await {
        Err(ReplayError::State(e)) => panic!("contract: read_after({after}) failed: {e}"),
        r => r,
    }
}

pub(super) async fn read_ok<L: EventLog>(l: &L, session: &str, after: &EventId) -> Replay {
    read(l, session, after).await.unwrap_or_else(|e| {
        panic!("contract: read_after({after}) of a live stream must succeed, got {e}")
    })
}

pub(super) async fn assert_gone<L: EventLog>(l: &L, session: &str, after: &EventId, why: &str) {
    match read(l, session, after).await {
        Err(ReplayError::Gone) => {}
        r => panic!(
            "contract: read_after({after}) {why} must be Gone (never an empty replay), got {r:?}"
        ),
    }
}

pub(super) async fn remove<L: EventLog>(l: &L, session: &str) {
    within("remove_session", l.remove_session(session))
        .await
        .unwrap_or_else(|e| panic!("contract: remove_session failed: {e}"));
}

/// The epoch of an id, checked to be writable in an event id.
fn epoch_of(id: &EventId) -> String {
    assert!(
        is_valid_epoch(&id.epoch),
        "contract: the epoch must be 1-32 ASCII alphanumerics, got {:?}",
        id.epoch
    );
    id.epoch.clone()
}

/// Data that a lossy store would mangle.
pub(super) fn data(tag: &str) -> String {
    format!("{{\"tag\":\"{tag}\",\"text\":\"ü 🚂\\n\"}}\nsecond line\r\n")
}

/// Positions are 1, 2, 3, … in each stream, under the current epoch, independent across
/// streams and sessions; ids are unique across a session; an event is readable on the other
/// node as soon as `append` returns.
async fn positions_per_stream<L: EventLog>(a: &L, b: &L) {
    let (s, t) = (unique("log"), unique("log"));
    let streams = [StreamId::Get, StreamId::Request(1), StreamId::Request(7)];
    let mut ids = HashSet::new();
    let mut session_epoch: Option<String> = None;
    for round in 1..=5u64 {
        for (k, stream) in streams.into_iter().enumerate() {
            let node = if (round as usize + k).is_multiple_of(2) {
                a
            } else {
                b
            };
            let d = data(&format!("{stream}-{round}"));
            let id = append(node, &s, stream, &d).await;
            let epoch = session_epoch.get_or_insert_with(|| epoch_of(&id)).clone();
            let epoch = epoch.as_str();
            assert_eq!(
                id,
                EventId::new(epoch, stream, round),
                "contract: append must assign position {round} to the {round}th event of stream {stream}, under the current epoch"
            );
            assert_eq!(
                id.to_string().parse::<EventId>().as_ref(),
                Ok(&id),
                "contract: an assigned id must encode and decode"
            );
            assert!(
                ids.insert(id.to_string()),
                "contract: ids must be unique across a session, {id} was assigned twice"
            );
            let other = if std::ptr::eq(node, a) { b } else { a };
            let tail = read_ok(other, &s, &EventId::new(epoch, stream, round - 1)).await;
            assert_eq!(
                tail.events,
                vec![(id, d)],
                "contract: an appended event must be readable on every node once append returns"
            );
        }
    }
    let first = append(a, &t, StreamId::Get, "other session").await;
    assert_eq!(
        first.seq, 1,
        "contract: each session's streams count from 1, independently of other sessions"
    );
    let epoch = session_epoch.unwrap_or_default();
    let replay = read_ok(b, &s, &EventId::new(epoch.as_str(), StreamId::Get, 0)).await;
    assert_eq!(
        replay.events.len(),
        5,
        "contract: a stream must hold only its own session's events"
    );
    remove(a, &s).await;
    remove(a, &t).await;
}

/// `read_after(n)` is exactly the events after position `n`, in order; 0 replays all; the
/// last position gives an empty replay of a live stream.
async fn read_after_is_exact<L: EventLog>(a: &L, b: &L) {
    let s = unique("log");
    let stream = StreamId::Request(3);
    let mut written = Vec::new();
    for i in 0..6 {
        let d = if i == 2 {
            String::new()
        } else {
            data(&i.to_string())
        };
        written.push((append(a, &s, stream, &d).await, d));
    }
    let epoch = epoch_of(&written[0].0);
    for n in 0..=written.len() {
        let replay = read_ok(b, &s, &EventId::new(epoch.as_str(), stream, n as u64)).await;
        assert_eq!(
            replay,
            Replay::open(written[n..].to_vec()),
            "contract: read_after(position {n}) must return exactly the later events of the stream, in order"
        );
    }
    remove(a, &s).await;
}

/// `close` marks one stream closed, visibly on every node, and keeps its events.
async fn close_marks_the_stream<L: EventLog>(a: &L, b: &L) {
    let s = unique("log");
    let (x, y) = (StreamId::Request(1), StreamId::Request(2));
    let mut written = Vec::new();
    for i in 0..3 {
        written.push((
            append(a, &s, x, &data(&i.to_string())).await,
            data(&i.to_string()),
        ));
    }
    append(a, &s, y, "y").await;
    let epoch = epoch_of(&written[0].0);
    let epoch = epoch.as_str();
    within("close", b.close(&s, x))
        .await
        .unwrap_or_else(|e| panic!("contract: close failed: {e}"));
    let replay = read_ok(a, &s, &EventId::new(epoch, x, 0)).await;
    assert_eq!(
        replay,
        Replay {
            closed: true,
            ..Replay::open(written)
        },
        "contract: a closed stream keeps its events and says it is closed"
    );
    let replay = read_ok(b, &s, &EventId::new(epoch, x, 3)).await;
    assert_eq!(
        replay,
        Replay {
            closed: true,
            ..Replay::open(vec![])
        },
        "contract: a resume at the end of a closed stream is empty and closed"
    );
    let replay = read_ok(b, &s, &EventId::new(epoch, y, 0)).await;
    assert!(
        !replay.closed,
        "contract: closing one stream must not close another"
    );
    within("close", a.close(&s, x))
        .await
        .unwrap_or_else(|e| panic!("contract: closing a closed stream must succeed: {e}"));
    remove(a, &s).await;
}

/// An id of another epoch, or of a stream or session the log never saw, is `Gone`.
async fn foreign_ids_are_gone<L: EventLog>(a: &L, b: &L) {
    let s = unique("log");
    let epoch = epoch_of(&append(a, &s, StreamId::Get, "1").await);
    let epoch = epoch.as_str();
    append(a, &s, StreamId::Get, "2").await;
    let mut other = epoch.to_owned();
    other.truncate(31);
    other.push(if epoch.ends_with('0') { '1' } else { '0' });
    for seq in 0..=2 {
        assert_gone(
            b,
            &s,
            &EventId::new(other.as_str(), StreamId::Get, seq),
            "with an id of another epoch",
        )
        .await;
    }
    assert_gone(
        b,
        &s,
        &EventId::new(epoch, StreamId::Request(999), 0),
        "of a stream the log never saw",
    )
    .await;
    assert_gone(
        b,
        &unique("never"),
        &EventId::new(epoch, StreamId::Get, 0),
        "of a session the log never saw",
    )
    .await;
    let t = unique("log");
    let other_session = append(a, &t, StreamId::Get, "t").await;
    assert_gone(
        b,
        &s,
        &EventId::new(other_session.epoch.as_str(), StreamId::Get, 1),
        "with the epoch of another session's log",
    )
    .await;
    remove(a, &t).await;
    remove(a, &s).await;
}

/// Appends to one stream from two nodes at once get distinct, gapless positions.
async fn concurrent_appends<L: EventLog>(a: &L, b: &L) {
    let s = unique("log");
    let n = 60u64;
    let datas: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    let ids = within(
        "60 concurrent appends",
        join_all(datas.iter().enumerate().map(|(i, d)| {
            let node = if i % 2 == 0 { a } else { b };
            node.append(&s, StreamId::Get, d)
        })),
    )
    .await;
    let ids: Vec<EventId> = ids
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("contract: append failed: {e}")))
        .collect();
    let mut seqs: Vec<u64> = ids.iter().map(|id| id.seq).collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=n).collect::<Vec<_>>(),
        "contract: concurrent appends to one stream must get positions 1..={n}, no gap, no repeat"
    );
    let replay = read_ok(
        a,
        &s,
        &EventId::new(ids[0].epoch.as_str(), StreamId::Get, 0),
    )
    .await;
    let mut expected: Vec<(EventId, String)> = ids.into_iter().zip(datas).collect();
    expected.sort_by_key(|(id, _)| id.seq);
    assert_eq!(
        replay.events, expected,
        "contract: each event must be stored at the position its append returned"
    );
    remove(a, &s).await;
}

/// `remove_session` drops every stream of that session and nothing else.
async fn remove_session_drops_streams<L: EventLog>(a: &L, b: &L) {
    let (s, t) = (unique("log"), unique("log"));
    let streams = [StreamId::Get, StreamId::Request(1), StreamId::Request(2)];
    let (mut es, mut et) = (String::new(), String::new());
    for stream in streams {
        es = append(a, &s, stream, "s").await.epoch;
        et = append(a, &t, stream, "t").await.epoch;
    }
    within("close", a.close(&s, StreamId::Request(2)))
        .await
        .unwrap_or_else(|e| panic!("contract: close failed: {e}"));
    remove(b, &s).await;
    for stream in streams {
        for seq in [0, 1] {
            assert_gone(
                a,
                &s,
                &EventId::new(es.as_str(), stream, seq),
                "after remove_session",
            )
            .await;
        }
        let replay = read_ok(a, &t, &EventId::new(et.as_str(), stream, 0)).await;
        assert_eq!(
            replay.events.len(),
            1,
            "contract: remove_session must not touch other sessions"
        );
    }
    remove(b, &unique("never")).await;
    remove(a, &t).await;
}

/// A log keeps at least the last `max_len` events of a stream; a resume from before what it
/// kept is `Gone`, never a partial replay; positions keep counting past trimmed events.
async fn trimmed_window_is_gone<L: EventLog>(a: &L, b: &L) {
    let s = unique("log");
    let stream = StreamId::Get;
    let mut written = Vec::new();
    for i in 1..=10u64 {
        let id = append(a, &s, stream, &i.to_string()).await;
        assert_eq!(
            id.seq, i,
            "contract: positions must keep counting past trimmed events"
        );
        written.push((id, i.to_string()));
    }
    let epoch = epoch_of(&written[0].0);
    let epoch = epoch.as_str();
    let mut served = false;
    for n in 0..=written.len() {
        let after = EventId::new(epoch, stream, n as u64);
        match read(b, &s, &after).await {
            Ok(replay) => {
                assert_eq!(
                    replay.events,
                    written[n..],
                    "contract: read_after({after}) must be exactly the later events, or Gone"
                );
                served = true;
            }
            Err(_) => {
                assert!(
                    !served,
                    "contract: the retained window must be a suffix: {after} is Gone but an earlier id was served"
                );
                assert!(
                    n < written.len() - SHORT,
                    "contract: the last max_len ({SHORT}) events must be kept, but {after} is Gone"
                );
            }
        }
    }
    for i in 11..=10 + MANY {
        append(a, &s, stream, &i.to_string()).await;
    }
    assert_gone(
        b,
        &s,
        &EventId::new(epoch, stream, 0),
        &format!("after {} appends to a log of max_len {SHORT}", 10 + MANY),
    )
    .await;
    assert_gone(
        b,
        &s,
        &EventId::new(epoch, stream, 9),
        "from before the retained window",
    )
    .await;
    let last = 10 + MANY;
    let replay = read_ok(b, &s, &EventId::new(epoch, stream, last - SHORT as u64)).await;
    let tail: Vec<String> = replay.events.into_iter().map(|(_, d)| d).collect();
    let expected: Vec<String> = (last - SHORT as u64 + 1..=last)
        .map(|i| i.to_string())
        .collect();
    assert_eq!(
        tail, expected,
        "contract: the last max_len events must be kept after trimming"
    );
    remove(a, &s).await;
}

/// A session's log that was lost (removed here; evicted or expired in production) and is
/// written again gets another epoch: the old ids are `Gone`, and no id is issued twice.
async fn a_lost_log_never_reissues_an_id<L: EventLog>(a: &L, b: &L) {
    let s = unique("log");
    let stream = StreamId::Request(5);
    let mut before = Vec::new();
    for i in 0..3 {
        before.push(append(a, &s, stream, &i.to_string()).await);
    }
    remove(a, &s).await;
    let after = append(b, &s, stream, "again").await;
    assert!(
        !before.contains(&after),
        "contract: a log created again must not reissue {after}"
    );
    assert_ne!(
        after.epoch, before[0].epoch,
        "contract: a log created again must have another epoch"
    );
    assert_gone(b, &s, &before[1], "from a lost log").await;
    remove(a, &s).await;
}

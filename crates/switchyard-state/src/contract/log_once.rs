//! The [`EventLog`] clauses that make "every message once" hold: the standalone stream's
//! owner, the broadcast cursor, and producer leases.

use std::time::Duration;

use switchyard_protocol::event_id::{EventId, StreamId};

use super::log::{append, assert_gone, read_ok, remove};
use super::support::{unique, within};
use crate::{Attachment, EventLog, Owned};

/// A lease short enough to lapse during the suite.
const LEASE: Duration = Duration::from_millis(300);

async fn attach<L: EventLog>(l: &L, s: &str, stream: StreamId, owner: &str) -> Attachment {
    within("attach", l.attach(s, stream, owner, 0))
        .await
        .unwrap_or_else(|e| panic!("contract: attach failed: {e}"))
}

async fn owned<L: EventLog>(
    l: &L,
    s: &str,
    stream: StreamId,
    owner: &str,
    broadcast: Option<u64>,
    data: Option<&str>,
) -> Owned {
    within(
        "append_owned",
        l.append_owned(s, stream, owner, broadcast, data),
    )
    .await
    .unwrap_or_else(|e| panic!("contract: append_owned failed: {e}"))
}

/// The newest attachment owns the standalone stream, on every node; only the owner appends;
/// a priming id (position 0) of the attachment's epoch replays the stream from its start.
pub(super) async fn owner_appends_once<L: EventLog>(a: &L, b: &L) {
    let s = unique("log");
    let g = StreamId::Request(11);
    let first = attach(a, &s, g, "conn-1").await;
    let priming = EventId::new(first.epoch.as_str(), g, 0);
    assert_eq!(
        read_ok(b, &s, &priming).await.owner.as_deref(),
        Some("conn-1"),
        "contract: an attached stream must be known, with its owner, on every node"
    );
    let Owned::Appended(one) = owned(a, &s, g, "conn-1", None, Some("one")).await else {
        panic!("contract: the owner's append_owned must append");
    };
    attach(b, &s, g, "conn-2").await;
    assert_eq!(
        owned(a, &s, g, "conn-1", None, Some("stale")).await,
        Owned::NotOwner,
        "contract: a superseded attachment must not append"
    );
    let Owned::Appended(two) = owned(b, &s, g, "conn-2", None, Some("two")).await else {
        panic!("contract: the newest attachment's append_owned must append");
    };
    let replay = read_ok(a, &s, &priming).await;
    assert_eq!(
        replay.events,
        vec![(one, "one".to_owned()), (two, "two".to_owned())],
        "contract: only the owners' events are in the stream, once each"
    );
    assert_eq!(
        replay.owner.as_deref(),
        Some("conn-2"),
        "contract: the newest attachment is the owner"
    );
    let other = StreamId::Request(12);
    attach(a, &s, other, "conn-3").await;
    assert_eq!(
        owned(b, &s, g, "conn-2", None, Some("old stream")).await,
        Owned::NotOwner,
        "contract: a session has one standalone stream: attaching another ends the old one's ownership"
    );
    remove(a, &s).await;
    assert_eq!(
        owned(b, &s, other, "conn-3", None, Some("lost")).await,
        Owned::NotOwner,
        "contract: an owner whose log was lost must hear it is no longer the owner"
    );
}

/// Each broadcast is applied to a session at most once, whichever attachment and node
/// applies it; the cursor starts at the head given to the first attach; broadcast numbers
/// increase and `broadcasts_after` returns what follows a number.
pub(super) async fn broadcasts_once<L: EventLog>(a: &L, b: &L) {
    let head = within("broadcast_head", a.broadcast_head())
        .await
        .unwrap_or_else(|e| panic!("contract: broadcast_head failed: {e}"));
    let mut seqs = Vec::new();
    for i in 0..3 {
        let node = if i % 2 == 0 { a } else { b };
        let seq = within("broadcast", node.broadcast(&format!("b{i}")))
            .await
            .unwrap_or_else(|e| panic!("contract: broadcast failed: {e}"));
        seqs.push(seq);
    }
    assert!(
        seqs[0] > head && seqs[0] < seqs[1] && seqs[1] < seqs[2],
        "contract: broadcast numbers must increase past the head {head}: {seqs:?}"
    );
    let after = within("broadcasts_after", b.broadcasts_after(seqs[0]))
        .await
        .unwrap_or_else(|e| panic!("contract: broadcasts_after failed: {e}"));
    let mine: Vec<_> = after
        .into_iter()
        .filter(|(n, _)| seqs.contains(n))
        .collect();
    assert_eq!(
        mine,
        vec![(seqs[1], "b1".to_owned()), (seqs[2], "b2".to_owned())],
        "contract: broadcasts_after returns the later broadcasts, oldest first"
    );

    let s = unique("log");
    let g = StreamId::Request(21);
    let at = within("attach", a.attach(&s, g, "x", seqs[0]))
        .await
        .unwrap_or_else(|e| panic!("contract: attach failed: {e}"));
    assert_eq!(
        at.cursor, seqs[0],
        "contract: the first attach starts the session's cursor at the head it is given"
    );
    let again = within("attach", b.attach(&s, g, "y", seqs[2]))
        .await
        .unwrap_or_else(|e| panic!("contract: attach failed: {e}"));
    assert_eq!(
        again.cursor, seqs[0],
        "contract: a later attach keeps the session's cursor"
    );
    assert_eq!(
        owned(a, &s, g, "y", Some(seqs[0]), Some("old")).await,
        Owned::Skipped,
        "contract: a broadcast at or before the cursor must not be appended"
    );
    let applied = owned(b, &s, g, "y", Some(seqs[1]), Some("b1")).await;
    assert!(
        matches!(applied, Owned::Appended(_)),
        "contract: a broadcast past the cursor must be appended, got {applied:?}"
    );
    assert_eq!(
        owned(a, &s, g, "y", Some(seqs[1]), Some("b1")).await,
        Owned::Skipped,
        "contract: a broadcast must be appended to a session at most once"
    );
    assert_eq!(
        owned(a, &s, g, "y", Some(seqs[2]), None).await,
        Owned::Skipped,
        "contract: a broadcast that does not concern the session only moves the cursor"
    );
    let reattached = attach(a, &s, g, "z").await;
    assert_eq!(
        reattached.cursor, seqs[2],
        "contract: the cursor must move with every applied broadcast"
    );
    remove(a, &s).await;
}

/// A request stream whose producer stopped renewing its lease is orphaned, and `reap` ends
/// it once; never while the lease stands, never after the stream was closed.
pub(super) async fn orphans_are_reaped<L: EventLog>(a: &L, b: &L) {
    let s = unique("log");
    let (live, dead, done) = (
        StreamId::Request(31),
        StreamId::Request(32),
        StreamId::Request(33),
    );
    let mut epochs = Vec::new();
    for stream in [live, dead, done] {
        let epoch = within("lease", a.lease(&s, stream, "[7]", LEASE))
            .await
            .unwrap_or_else(|e| panic!("contract: lease failed: {e}"));
        epochs.push(epoch);
    }
    let waiting = read_ok(b, &s, &EventId::new(epochs[1].as_str(), dead, 0)).await;
    assert!(
        waiting.events.is_empty() && !waiting.closed,
        "contract: a leased stream with no event yet resumes from its priming id, empty and open"
    );
    let first = append(a, &s, dead, "progress").await;
    assert!(
        epochs.iter().all(|e| *e == first.epoch),
        "contract: lease must return the epoch the stream's events get"
    );
    append(a, &s, live, "progress").await;
    append(a, &s, done, "result").await;
    within("close", a.close(&s, done))
        .await
        .unwrap_or_else(|e| panic!("contract: close failed: {e}"));
    let priming = |stream| EventId::new(first.epoch.as_str(), stream, 0);
    let finals = vec!["error for 7".to_owned()];
    assert!(
        !read_ok(b, &s, &priming(dead)).await.orphaned,
        "contract: a stream whose lease stands is not orphaned"
    );
    assert_eq!(
        within("reap", b.reap(&s, dead, &finals)).await,
        Ok(false),
        "contract: reap must not end a stream whose lease stands"
    );
    // Renew one lease while the others lapse.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        within("lease", a.lease(&s, live, "[7]", LEASE))
            .await
            .unwrap_or_else(|e| panic!("contract: lease failed: {e}"));
        if read_ok(b, &s, &priming(dead)).await.orphaned {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "contract: a stream whose lease lapsed must read as orphaned"
        );
        tokio::time::sleep(LEASE / 4).await;
    }
    assert!(
        !read_ok(b, &s, &priming(live)).await.orphaned,
        "contract: a renewed lease must stand"
    );
    assert!(
        !read_ok(b, &s, &priming(done)).await.orphaned,
        "contract: a closed stream is never orphaned"
    );
    assert_eq!(
        within("orphans", b.orphans(&s)).await,
        Ok(vec![(dead, "[7]".to_owned())]),
        "contract: orphans lists the open streams whose lease lapsed, and only those"
    );
    assert_eq!(
        within("leased_requests", b.leased_requests(&s, dead)).await,
        Ok(Some("[7]".to_owned())),
        "contract: the lease's requests must be readable on every node"
    );
    let (r1, r2) = within(
        "two concurrent reaps",
        futures::future::join(a.reap(&s, dead, &finals), b.reap(&s, dead, &finals)),
    )
    .await;
    assert!(
        matches!((&r1, &r2), (Ok(true), Ok(false)) | (Ok(false), Ok(true))),
        "contract: of two concurrent reaps exactly one ends the stream, got {r1:?} and {r2:?}"
    );
    let replay = read_ok(a, &s, &first).await;
    assert_eq!(
        (replay.events.len(), replay.closed, replay.orphaned),
        (1, true, false),
        "contract: a reaped stream holds the finals once and is closed"
    );
    assert_eq!(
        replay.events[0].1, finals[0],
        "contract: reap must append the finals it is given"
    );
    assert_eq!(
        within("reap", b.reap(&s, done, &finals)).await,
        Ok(false),
        "contract: reap must not touch a closed stream"
    );
    assert_eq!(
        within("orphans", a.orphans(&s)).await,
        Ok(vec![]),
        "contract: a reaped stream is no longer an orphan"
    );
    remove(a, &s).await;
    assert_gone(a, &s, &first, "after remove_session").await;
}

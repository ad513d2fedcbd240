//! The [`SessionStore`] clauses.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use futures::future::join_all;
use serde_json::json;
use tokio::time::Instant;

use super::support::{unique, within};
use crate::{SessionPatch, SessionRecord, SessionStore, StateError, Transport, now_ms};

/// The idle TTL of the expiry checks: long enough to survive a busy machine, short enough
/// for a quick suite.
const TTL: Duration = Duration::from_millis(300);

/// Runs every [`SessionStore`] clause.
///
/// `make(idle_ttl)` returns two handles (two "nodes") on one backing whose sessions expire
/// after `idle_ttl`; it is called once with a long TTL and once with a short one (300 ms).
/// Takes about two seconds, most of it waiting for sessions to expire.
pub async fn session_store<S, F, Fut>(mut make: F)
where
    S: SessionStore,
    F: FnMut(Duration) -> Fut,
    Fut: Future<Output = (S, S)>,
{
    let (a, b) = within("make(60s)", make(Duration::from_secs(60))).await;
    create_then_get(&a, &b).await;
    create_conflicts(&a, &b).await;
    update_applies_patches(&a, &b).await;
    update_is_atomic(&a, &b).await;
    get_stream_slot(&a, &b).await;
    delete_is_final(&a, &b).await;
    super::upstream::swap_upstream_is_compare_and_set(&a, &b, full_record(&unique("s"))).await;
    super::upstream::racing_creates_make_one(&a, &b, new_record(&unique("s"))).await;
    drop((a, b));

    let (a, b) = within("make(300ms)", make(TTL)).await;
    idle_session_expires(&a, &b).await;
    get_refreshes_ttl(&a, &b).await;
}

/// A record with every field set to something that a lossy encoding would get wrong.
fn full_record(id: &str) -> SessionRecord {
    SessionRecord {
        id: id.to_owned(),
        principal: "contract:principal ü".to_owned(),
        transport: Transport::HttpSse,
        protocol_version: "2024-11-05".to_owned(),
        client_info: json!({"name": "contract", "version": "1.0", "extra": {"ü": [1, 2.5, null, true, "x\ny"]}}),
        client_capabilities: json!({"roots": {"listChanged": true}, "sampling": {}, "elicitation": {}}),
        initialized: true,
        log_level: Some("debug".to_owned()),
        subscriptions: BTreeSet::from(["file:///a".to_owned(), "file:///b c".to_owned()]),
        created_at_ms: now_ms(),
        get_stream: Some("g-1".to_owned()),
        upstreams: Default::default(),
    }
}

/// A freshly initialized record.
fn new_record(id: &str) -> SessionRecord {
    SessionRecord {
        id: id.to_owned(),
        principal: "anonymous".to_owned(),
        transport: Transport::StreamableHttp,
        protocol_version: "2025-11-25".to_owned(),
        client_info: json!({"name": "contract", "version": "1.0"}),
        client_capabilities: json!({}),
        initialized: false,
        log_level: None,
        subscriptions: BTreeSet::new(),
        created_at_ms: now_ms(),
        get_stream: None,
        upstreams: Default::default(),
    }
}

async fn create<S: SessionStore>(s: &S, rec: SessionRecord) {
    let id = rec.id.clone();
    if let Err(e) = within("create", s.create(rec)).await {
        panic!("contract: create of a new session {id} must succeed, got {e}");
    }
}

async fn get<S: SessionStore>(s: &S, id: &str) -> Option<SessionRecord> {
    within("get", s.get(id))
        .await
        .unwrap_or_else(|e| panic!("contract: get failed: {e}"))
        .map(|r| SessionRecord::clone(&r))
}

async fn update<S: SessionStore>(s: &S, id: &str, patch: SessionPatch) -> bool {
    within("update", s.update(id, patch))
        .await
        .unwrap_or_else(|e| panic!("contract: update failed: {e}"))
}

async fn delete<S: SessionStore>(s: &S, id: &str) -> bool {
    within("delete", s.delete(id))
        .await
        .unwrap_or_else(|e| panic!("contract: delete failed: {e}"))
}

/// `create` stores the record; `get` on either node returns it exactly.
async fn create_then_get<S: SessionStore>(a: &S, b: &S) {
    for rec in [full_record(&unique("s")), new_record(&unique("s"))] {
        create(a, rec.clone()).await;
        assert_eq!(
            get(a, &rec.id).await.as_ref(),
            Some(&rec),
            "contract: get must return the record as created"
        );
        assert_eq!(
            get(b, &rec.id).await.as_ref(),
            Some(&rec),
            "contract: get on another node must return the record as created"
        );
        delete(a, &rec.id).await;
    }
    assert_eq!(
        get(b, &unique("never")).await,
        None,
        "contract: get of an unknown id must be None"
    );
}

/// `create` of an existing id is `Conflict` and leaves the stored record alone.
async fn create_conflicts<S: SessionStore>(a: &S, b: &S) {
    let rec = new_record(&unique("s"));
    create(a, rec.clone()).await;
    let mut other = full_record(&rec.id);
    other.principal = "someone-else".to_owned();
    match within("create", b.create(other)).await {
        Err(StateError::Conflict(_)) => {}
        r => panic!("contract: create of an existing id must be Conflict, got {r:?}"),
    }
    assert_eq!(
        get(a, &rec.id).await,
        Some(rec.clone()),
        "contract: a conflicting create must not overwrite the record"
    );
    delete(a, &rec.id).await;
}

/// `update` applies each patch as [`SessionPatch::apply`] does, visibly on every node; on an
/// unknown id it is `false` and writes nothing.
async fn update_applies_patches<S: SessionStore>(a: &S, b: &S) {
    let mut expected = new_record(&unique("s"));
    create(a, expected.clone()).await;
    let patches = [
        SessionPatch::Negotiated {
            protocol_version: "2025-06-18".to_owned(),
            client_info: json!({"name": "other", "version": "2", "ü": [0.1]}),
            client_capabilities: json!({"roots": {}}),
        },
        SessionPatch::Initialized,
        SessionPatch::LogLevel("warning".to_owned()),
        SessionPatch::Subscribe("file:///x".to_owned()),
        SessionPatch::Subscribe("file:///y".to_owned()),
        SessionPatch::Unsubscribe("file:///x".to_owned()),
        SessionPatch::Unsubscribe("file:///never".to_owned()),
        SessionPatch::LogLevel("error".to_owned()),
    ];
    for (i, patch) in patches.into_iter().enumerate() {
        let (writer, reader) = if i % 2 == 0 { (a, b) } else { (b, a) };
        patch.apply(&mut expected);
        assert!(
            update(writer, &expected.id, patch.clone()).await,
            "contract: update of an existing session must be true"
        );
        assert_eq!(
            get(reader, &expected.id).await.as_ref(),
            Some(&expected),
            "contract: after update({patch:?}), get on any node must return the patched record"
        );
    }
    let missing = unique("never");
    assert!(
        !update(a, &missing, SessionPatch::Initialized).await,
        "contract: update of an unknown session must be false"
    );
    assert_eq!(
        get(b, &missing).await,
        None,
        "contract: update of an unknown session must not create it"
    );
    delete(a, &expected.id).await;
}

/// Concurrent patches of one session from two nodes are all applied (no lost update).
async fn update_is_atomic<S: SessionStore>(a: &S, b: &S) {
    let rec = new_record(&unique("s"));
    create(a, rec.clone()).await;
    let uris: Vec<String> = (0..40).map(|i| format!("file:///{i}")).collect();
    let results = within(
        "40 concurrent updates",
        join_all(uris.iter().enumerate().map(|(i, uri)| {
            let node = if i % 2 == 0 { a } else { b };
            node.update(&rec.id, SessionPatch::Subscribe(uri.clone()))
        })),
    )
    .await;
    for r in results {
        assert_eq!(r, Ok(true), "contract: each concurrent update must succeed");
    }
    let got = get(b, &rec.id)
        .await
        .unwrap_or_else(|| panic!("contract: session lost during updates"));
    assert_eq!(
        got.subscriptions,
        uris.iter().cloned().collect::<BTreeSet<_>>(),
        "contract: concurrent updates of one session must all be applied (update is atomic)"
    );
    delete(a, &rec.id).await;
}

/// The standalone GET stream's name: set by any node, seen by every node, the last one wins.
async fn get_stream_slot<S: SessionStore>(a: &S, b: &S) {
    let rec = new_record(&unique("s"));
    create(a, rec.clone()).await;
    let (g1, g2) = ("g-a".to_owned(), "g-b".to_owned());
    update(a, &rec.id, SessionPatch::GetStream(g1.clone())).await;
    assert_eq!(
        get(b, &rec.id).await.and_then(|r| r.get_stream),
        Some(g1),
        "contract: a named GET stream must be seen by every node"
    );
    update(b, &rec.id, SessionPatch::GetStream(g2.clone())).await;
    assert_eq!(
        get(a, &rec.id).await.and_then(|r| r.get_stream),
        Some(g2),
        "contract: a newer GET stream must replace the older one"
    );
    delete(a, &rec.id).await;
}

/// `delete` says whether the session existed, and afterwards no node sees it.
async fn delete_is_final<S: SessionStore>(a: &S, b: &S) {
    let rec = full_record(&unique("s"));
    create(a, rec.clone()).await;
    // Both nodes have read it, so a cache on either would be stale after the delete.
    assert!(
        get(a, &rec.id).await.is_some() && get(b, &rec.id).await.is_some(),
        "contract: get must find a created session"
    );
    assert!(
        delete(b, &rec.id).await,
        "contract: delete of an existing session must be true"
    );
    assert_eq!(
        get(a, &rec.id).await,
        None,
        "contract: after delete, get on every node must be None"
    );
    assert_eq!(
        get(b, &rec.id).await,
        None,
        "contract: after delete, get on the deleting node must be None"
    );
    assert!(
        !delete(a, &rec.id).await,
        "contract: delete of a deleted session must be false"
    );
    assert!(
        !update(a, &rec.id, SessionPatch::Initialized).await,
        "contract: update of a deleted session must be false"
    );
    assert_eq!(
        get(b, &rec.id).await,
        None,
        "contract: update of a deleted session must not resurrect it"
    );
    assert!(
        !delete(b, &unique("never")).await,
        "contract: delete of an unknown session must be false"
    );
    create(b, rec.clone()).await;
    assert_eq!(
        get(a, &rec.id).await,
        Some(rec.clone()),
        "contract: a deleted id can be created again"
    );
    delete(a, &rec.id).await;
}

/// A session nobody touches for longer than the TTL is gone, for every operation.
///
/// Each probe starts one and a half TTLs after the previous operation returned, so that a
/// probe (which refreshes a live session) can never keep alive a session that the store
/// should already have dropped.
async fn idle_session_expires<S: SessionStore>(a: &S, b: &S) {
    let rec = new_record(&unique("s"));
    create(a, rec.clone()).await;
    let mut last = Instant::now();
    let deadline = last + TTL * 10;
    while get(b, &rec.id).await.is_some() {
        last = Instant::now();
        assert!(
            last < deadline,
            "contract: a session idle for longer than its TTL ({TTL:?}) must be gone"
        );
        tokio::time::sleep_until(last + TTL + TTL / 2).await;
    }
    assert!(
        !update(a, &rec.id, SessionPatch::Initialized).await,
        "contract: update of an expired session must be false"
    );
    assert!(
        !delete(b, &rec.id).await,
        "contract: delete of an expired session must be false"
    );
    create(b, rec.clone()).await;
    assert_eq!(
        get(a, &rec.id).await,
        Some(rec.clone()),
        "contract: an expired id can be created again"
    );
    delete(a, &rec.id).await;
}

/// `get` refreshes the idle TTL: a session read every quarter TTL, from either node, stays
/// alive for two TTLs and more.
///
/// A read that finds the session gone fails the suite only if it began less than one TTL
/// after the previous read began; otherwise the machine stalled, and the check starts over
/// with a new session (three times at most).
async fn get_refreshes_ttl<S: SessionStore>(a: &S, b: &S) {
    for _ in 0..3 {
        let rec = new_record(&unique("s"));
        let mut prev_start = Instant::now();
        create(a, rec.clone()).await;
        let created = Instant::now();
        let mut stalled = false;
        let mut i = 0;
        while prev_start < created + TTL * 2 {
            tokio::time::sleep_until(prev_start + TTL / 4).await;
            let start = Instant::now();
            let found = get(if i % 2 == 0 { b } else { a }, &rec.id).await.is_some();
            let end = Instant::now();
            i += 1;
            if !found {
                assert!(
                    end >= prev_start + TTL,
                    "contract: get must refresh the idle TTL: a session read every {:?} expired after {:?}",
                    TTL / 4,
                    end - created
                );
                stalled = true;
                break;
            }
            prev_start = start;
        }
        delete(a, &rec.id).await;
        if !stalled {
            return;
        }
    }
    panic!(
        "contract: could not check that get refreshes the TTL: three stalls longer than {TTL:?}"
    );
}

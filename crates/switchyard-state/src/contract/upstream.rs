//! The [`SessionStore::swap_upstream`] clauses: upstream sessions kept in the client's record.

use futures::future::join_all;

use super::support::{unique, within};
use crate::{SessionRecord, SessionStore, UpstreamSession, UpstreamSwap};

fn upstream(id: &str, version: &str) -> UpstreamSession {
    UpstreamSession {
        session_id: Some(id.to_owned()),
        protocol_version: version.to_owned(),
    }
}

async fn swap<S: SessionStore>(
    s: &S,
    id: &str,
    name: &str,
    expected: Option<&UpstreamSession>,
    new: Option<&UpstreamSession>,
) -> UpstreamSwap {
    within("swap_upstream", s.swap_upstream(id, name, expected, new))
        .await
        .unwrap_or_else(|e| panic!("contract: swap_upstream failed: {e}"))
}

async fn stored<S: SessionStore>(s: &S, id: &str) -> SessionRecord {
    let rec = within("get", s.get(id))
        .await
        .unwrap_or_else(|e| panic!("contract: get failed: {e}"))
        .unwrap_or_else(|| panic!("contract: session {id} must exist"));
    SessionRecord::clone(&rec)
}

/// Creating, replacing and removing an upstream session is a compare-and-set, visible on
/// every node; it leaves the rest of the record alone.
pub(super) async fn swap_upstream_is_compare_and_set<S: SessionStore>(
    a: &S,
    b: &S,
    rec: SessionRecord,
) {
    let id = rec.id.clone();
    within("create", a.create(rec.clone()))
        .await
        .unwrap_or_else(|e| panic!("contract: create failed: {e}"));
    let first = upstream("up-1", "2025-06-18");
    let sessionless = UpstreamSession {
        session_id: None,
        protocol_version: "2025-11-25".to_owned(),
    };
    assert_eq!(
        swap(a, &id, "alpha", None, Some(&first)).await,
        UpstreamSwap::Swapped,
        "contract: swap_upstream from nothing must create the upstream session"
    );
    assert_eq!(
        swap(b, &id, "beta", None, Some(&sessionless)).await,
        UpstreamSwap::Swapped,
        "contract: another upstream's session is independent"
    );
    let got = stored(b, &id).await;
    assert_eq!(got.upstreams.get("alpha"), Some(&first));
    assert_eq!(got.upstreams.get("beta"), Some(&sessionless));
    let mut rest = got.clone();
    rest.upstreams.clear();
    assert_eq!(
        rest, rec,
        "contract: swap_upstream must leave the rest of the record alone"
    );
    assert_eq!(
        swap(b, &id, "alpha", None, Some(&upstream("up-2", "x"))).await,
        UpstreamSwap::Current(Some(first.clone())),
        "contract: swap_upstream with a stale expectation must write nothing and answer what is stored"
    );
    let second = upstream("up-2", "2025-11-25");
    assert_eq!(
        swap(b, &id, "alpha", Some(&first), Some(&second)).await,
        UpstreamSwap::Swapped,
        "contract: swap_upstream with the stored value expected must replace it"
    );
    assert_eq!(stored(a, &id).await.upstreams.get("alpha"), Some(&second));
    assert_eq!(
        swap(a, &id, "alpha", Some(&first), None).await,
        UpstreamSwap::Current(Some(second.clone())),
        "contract: a removal with a stale expectation must write nothing"
    );
    assert_eq!(
        swap(a, &id, "alpha", Some(&second), None).await,
        UpstreamSwap::Swapped,
        "contract: swap_upstream to None must remove the upstream session"
    );
    assert_eq!(stored(b, &id).await.upstreams.get("alpha"), None);
    assert_eq!(
        swap(b, &id, "alpha", Some(&second), Some(&first)).await,
        UpstreamSwap::Current(None),
        "contract: expecting a value where none is stored must write nothing"
    );
    within("delete", a.delete(&id)).await.ok();
    assert_eq!(
        swap(b, &id, "alpha", None, Some(&first)).await,
        UpstreamSwap::NoSession,
        "contract: swap_upstream on a deleted session must be NoSession and create nothing"
    );
    assert!(
        within("get", b.get(&id)).await.ok().flatten().is_none(),
        "contract: swap_upstream must not resurrect a deleted session"
    );
    let missing = unique("never");
    assert_eq!(
        swap(a, &missing, "alpha", None, Some(&first)).await,
        UpstreamSwap::NoSession,
        "contract: swap_upstream on an unknown session must be NoSession"
    );
}

/// Twenty nodes racing to create one upstream session: exactly one swaps, every other one is
/// told the winner's.
pub(super) async fn racing_creates_make_one<S: SessionStore>(a: &S, b: &S, rec: SessionRecord) {
    let id = rec.id.clone();
    within("create", a.create(rec))
        .await
        .unwrap_or_else(|e| panic!("contract: create failed: {e}"));
    let candidates: Vec<UpstreamSession> = (0..20)
        .map(|i| upstream(&format!("racer-{i}"), "2025-11-25"))
        .collect();
    let outcomes = within(
        "20 racing swaps",
        join_all(candidates.iter().enumerate().map(|(i, c)| {
            let node = if i % 2 == 0 { a } else { b };
            node.swap_upstream(&id, "racy", None, Some(c))
        })),
    )
    .await;
    let outcomes: Vec<UpstreamSwap> = outcomes
        .into_iter()
        .map(|o| o.unwrap_or_else(|e| panic!("contract: swap_upstream failed: {e}")))
        .collect();
    let winners: Vec<usize> = (0..outcomes.len())
        .filter(|i| outcomes[*i] == UpstreamSwap::Swapped)
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "contract: of racing creates exactly one must swap, got {outcomes:?}"
    );
    let winner = &candidates[winners[0]];
    for o in &outcomes {
        assert!(
            *o == UpstreamSwap::Swapped || *o == UpstreamSwap::Current(Some(winner.clone())),
            "contract: a losing create must be told the winner's session, got {o:?}"
        );
    }
    assert_eq!(stored(b, &id).await.upstreams.get("racy"), Some(winner));
    within("delete", a.delete(&id)).await.ok();
}

//! The invariants, judged on a run's history alone. Event ids are opaque: only their
//! equality and the order they arrived in are used.
//!
//! 1. no duplicates (a marker at most once per session; an id never twice, never for other data);
//! 2. a GET is never 409; a superseded attachment ends within 3 s and gets nothing newer;
//! 3. a broadcast (and `resources/updated` after a booking) reaches every attached session;
//! 4. an acknowledged push reaches its stream once, in order, unless the client was told;
//! 5. every call gets exactly one final answer unless the client was told;
//! 6. a session listening on its GET stream does not expire.

use std::collections::{BTreeMap, HashMap};

use crate::ctx::marker_of;
use crate::history::{ConnKind, Entry, Leave, Ms, Rec};

/// The idle TTL the nodes run with, in ms; the margin a 404 needs beyond it.
pub(crate) const TTL_MS: Ms = 6_000;
/// How long after an acknowledgement an attachment must stay for the message to be owed.
const SETTLE_MS: Ms = 1_000;

/// One broken invariant.
#[derive(Debug, Clone)]
pub(crate) struct Violation {
    pub(crate) invariant: u8,
    /// What broke, in a few words (the same for every violation of its kind).
    pub(crate) kind: &'static str,
    pub(crate) session: String,
    pub(crate) message: String,
}

#[derive(Debug, Default, Clone)]
struct ConnInfo {
    session: String,
    kind: Option<ConnKind>,
    logical: u64,
    status: u16,
    opened: Ms,
    /// When the client stopped reading it (left, or the server ended it).
    client_end: Option<Ms>,
    /// When the connection was over for the server too, as far as the client knows.
    end: Option<Ms>,
    silent: bool,
    superseded: Option<Ms>,
    /// The node that answered the GET (`?` when none did).
    node: String,
}

#[derive(Debug, Default)]
struct SessionInfo {
    legacy: bool,
    created: Ms,
    /// `(t, conn, id, data)` of every event the client read (not drained).
    events: Vec<(Ms, u64, Option<String>, String)>,
    drained: Vec<(Ms, u64, String)>,
    /// Fresh attachments: `(t, logical)`.
    fresh: Vec<(Ms, u64)>,
    told: Vec<(Ms, u64, u16)>,
    deleted: Option<Ms>,
    /// 404s: `(t, what)`.
    not_found: Vec<(Ms, String)>,
    /// Activity a node could see: `(from, to)`.
    activity: Vec<(Ms, Ms)>,
    subscribed: Option<Ms>,
}

/// The history digested for the checks.
#[derive(Debug, Default)]
struct Model {
    conns: HashMap<u64, ConnInfo>,
    sessions: BTreeMap<String, SessionInfo>,
    /// marker → when it was sent (pushes, broadcasts, delivers).
    sent: HashMap<String, Ms>,
    end: Ms,
}

impl Model {
    fn build(h: &[Entry]) -> Model {
        let mut m = Model {
            end: h.last().map_or(0, |e| e.t),
            ..Model::default()
        };
        for e in h {
            let t = e.t;
            match &e.rec {
                Rec::Session {
                    session, legacy, ..
                } => {
                    let s = m.sessions.entry(session.clone()).or_default();
                    s.legacy = *legacy;
                    s.created = t;
                    s.activity.push((t, t));
                }
                Rec::Request {
                    session,
                    what,
                    status,
                } => {
                    let s = m.sessions.entry(session.clone()).or_default();
                    if reached_a_node(*status) {
                        s.activity.push((t, t));
                    }
                    if *status == 404 {
                        s.not_found.push((t, what.clone()));
                    }
                }
                Rec::Open {
                    conn,
                    session,
                    kind,
                    logical,
                    status,
                    sent,
                    node,
                    ..
                } => {
                    m.conns.insert(
                        *conn,
                        ConnInfo {
                            session: session.clone(),
                            kind: Some(*kind),
                            logical: *logical,
                            status: *status,
                            opened: t,
                            node: node.clone(),
                            ..ConnInfo::default()
                        },
                    );
                    let s = m.sessions.entry(session.clone()).or_default();
                    if reached_a_node(*status) {
                        s.activity.push((*sent, t));
                    }
                    if *status == 404 && *kind != ConnKind::Legacy {
                        s.not_found
                            .push((t, format!("GET ({kind:?}) on conn {conn}")));
                    }
                    if *status == 200 && *kind == ConnKind::Fresh {
                        s.fresh.push((t, *logical));
                    }
                }
                Rec::Event {
                    conn,
                    session,
                    id,
                    data,
                    drained,
                } => {
                    let s = m.sessions.entry(session.clone()).or_default();
                    if *drained {
                        s.drained.push((t, *conn, data.clone()));
                    } else {
                        s.events.push((t, *conn, id.clone(), data.clone()));
                    }
                }
                Rec::End { conn, .. } => {
                    if let Some(c) = m.conns.get_mut(conn) {
                        c.end.get_or_insert(t);
                        c.client_end.get_or_insert(t);
                    }
                }
                Rec::Left { conn, how } => {
                    if let Some(c) = m.conns.get_mut(conn) {
                        c.client_end.get_or_insert(t);
                        if *how == Leave::Silent {
                            c.silent = true;
                        } else {
                            c.end.get_or_insert(t);
                        }
                    }
                }
                Rec::Superseded { conn } => {
                    if let Some(c) = m.conns.get_mut(conn) {
                        c.superseded = Some(t);
                    }
                }
                Rec::NotEnded { conn, .. } => {
                    if let Some(c) = m.conns.get_mut(conn) {
                        c.end.get_or_insert(t);
                    }
                }
                Rec::Push {
                    session,
                    marker,
                    sent,
                    status,
                    ..
                } => {
                    m.sent.insert(marker.clone(), *sent);
                    if *status == 404 {
                        m.sessions
                            .entry(session.clone())
                            .or_default()
                            .not_found
                            .push((t, format!("push {marker}")));
                    }
                }
                Rec::Broadcast { marker, sent, .. } => {
                    m.sent.insert(marker.clone(), *sent);
                }
                Rec::Deliver { marker, .. } => {
                    m.sent.insert(marker.clone(), t);
                }
                Rec::Subscribed { session, status } if *status == 200 => {
                    m.sessions
                        .entry(session.clone())
                        .or_default()
                        .subscribed
                        .get_or_insert(t);
                }
                Rec::Call { session, .. } => {
                    m.sessions
                        .entry(session.clone())
                        .or_default()
                        .activity
                        .push((t, t));
                }
                Rec::Told {
                    session,
                    logical,
                    status,
                } => {
                    let s = m.sessions.entry(session.clone()).or_default();
                    s.told.push((t, *logical, *status));
                    if *status == 404 {
                        s.not_found.push((t, "resume".to_owned()));
                    }
                }
                Rec::Deleted { session } => {
                    m.sessions.entry(session.clone()).or_default().deleted = Some(t);
                }
                _ => {}
            }
        }
        // Attached connections are activity for as long as they are open, on a node that
        // lives: a stopped node no longer refreshes the session, whatever the client thinks.
        let stops: Vec<(Ms, String)> = h
            .iter()
            .filter_map(|e| match &e.rec {
                Rec::Fault { what } if what.starts_with("SIG") => what
                    .split_whitespace()
                    .find(|w| w.starts_with("node-"))
                    .map(|n| (e.t, n.to_owned())),
                _ => None,
            })
            .collect();
        let end = m.end;
        for c in m.conns.values() {
            if c.status == 200 && matches!(c.kind, Some(ConnKind::Fresh | ConnKind::Resume)) {
                let stopped = stops
                    .iter()
                    .filter(|(t, n)| *t >= c.opened && *n == c.node)
                    .map(|(t, _)| *t)
                    .min();
                let to = match (c.end.unwrap_or(end), stopped) {
                    (to, Some(s)) => to.min(s),
                    (to, None) => to,
                };
                if let Some(s) = m.sessions.get_mut(&c.session) {
                    s.activity.push((c.opened, to));
                }
            }
        }
        m
    }

    /// The standalone or `/sse` connection of `session` the client was reading from before
    /// `from` until at least `until`, if any.
    fn attached_over(&self, session: &str, from: Ms, until: Ms) -> Option<&ConnInfo> {
        self.conns.values().find(|c| {
            c.session == session
                && c.status == 200
                && matches!(
                    c.kind,
                    Some(ConnKind::Fresh | ConnKind::Resume | ConnKind::Legacy)
                )
                && c.opened <= from
                && c.client_end.is_none_or(|e| e >= until)
        })
    }

    /// Whether the client kept following logical stream `logical` from `t` to the end: not
    /// told, not deleted, no fresh stream opened instead, no 404.
    fn kept(&self, session: &str, logical: u64, t: Ms) -> bool {
        let Some(s) = self.sessions.get(session) else {
            return false;
        };
        s.told.iter().all(|&(_, l, st)| l != logical && st != 404)
            && s.deleted.is_none()
            && s.fresh.iter().all(|&(ft, l)| l == logical || ft < t)
            && s.not_found.is_empty()
    }

    /// The logical stream `session` was following at `t` (the latest fresh 200 before).
    fn logical_at(&self, session: &str, t: Ms) -> Option<u64> {
        let s = self.sessions.get(session)?;
        s.fresh
            .iter()
            .filter(|&&(ft, _)| ft <= t)
            .max_by_key(|&&(ft, _)| ft)
            .map(|&(_, l)| l)
    }

    fn count(&self, session: &str, marker: &str) -> usize {
        self.sessions.get(session).map_or(0, |s| {
            s.events
                .iter()
                .filter(|e| marker_of(&e.3).as_deref() == Some(marker))
                .count()
        })
    }
}

fn v(invariant: u8, kind: &'static str, session: &str, message: String) -> Violation {
    Violation {
        invariant,
        kind,
        session: session.to_owned(),
        message,
    }
}

/// Every violation in `h`.
pub(crate) fn check(h: &[Entry]) -> Vec<Violation> {
    let m = Model::build(h);
    let mut out = Vec::new();
    duplicates(&m, &mut out);
    reused_acks(h, &m, &mut out);
    supersede(h, &m, &mut out);
    owed(h, &m, &mut out, true);
    calls(h, &mut out);
    expiry(&m, &mut out);
    out
}

/// How many owed messages and answers are still missing (for the quiet period).
pub(crate) fn missing(h: &[Entry]) -> usize {
    let m = Model::build(h);
    let mut out = Vec::new();
    owed(h, &m, &mut out, false);
    let calls = h
        .iter()
        .filter(|e| matches!(e.rec, Rec::Call { .. }))
        .count();
    let done = h
        .iter()
        .filter(|e| matches!(e.rec, Rec::CallDone { .. }))
        .count();
    out.len() + calls - done
}

/// Invariant 1.
fn duplicates(m: &Model, out: &mut Vec<Violation>) {
    for (sid, s) in &m.sessions {
        let mut markers: HashMap<String, Vec<(Ms, u64, Option<String>)>> = HashMap::new();
        let mut ids: HashMap<&str, &str> = HashMap::new();
        for (t, conn, id, data) in &s.events {
            if let Some(mk) = marker_of(data) {
                markers.entry(mk).or_default().push((*t, *conn, id.clone()));
            }
            let Some(id) = id else { continue };
            if data.is_empty() {
                continue;
            }
            match ids.get(id.as_str()) {
                None => {
                    ids.insert(id, data);
                }
                Some(prev) if *prev == data.as_str() => out.push(v(
                    1,
                    "an event replayed twice",
                    sid,
                    format!("event id {id} received twice (conn {conn}, at {t} ms): {data}"),
                )),
                Some(prev) => out.push(v(
                    1,
                    "an event id reused for other data",
                    sid,
                    format!(
                        "event id {id} reused for different data: first {prev}, then (conn \
                         {conn}, at {t} ms) {data}"
                    ),
                )),
            }
        }
        let mut dups: Vec<_> = markers.into_iter().filter(|(_, r)| r.len() > 1).collect();
        dups.sort_by_key(|(_, r)| r[0].0);
        for (mk, r) in dups {
            out.push(v(
                1,
                "a marked message received more than once",
                sid,
                format!(
                    "marker {mk} received {} times: (t ms, conn, id) {r:?}",
                    r.len()
                ),
            ));
        }
    }
}

/// Invariant 4 (ids after log loss): the id a push was acknowledged with is never one the
/// session already received, or another push was acknowledged with, for other data.
fn reused_acks(h: &[Entry], m: &Model, out: &mut Vec<Violation>) {
    let mut acked: HashMap<(&str, &str), (&str, Ms)> = HashMap::new();
    for e in h {
        let Rec::Push {
            session,
            marker,
            status: 202,
            id: Some(id),
            ..
        } = &e.rec
        else {
            continue;
        };
        if let Some((other, t)) = acked.insert((session, id), (marker, e.t)) {
            out.push(v(
                4,
                "two pushes acknowledged with one id",
                session,
                format!(
                    "push {marker} was acknowledged at {} ms with id {id}, the id push {other} \
                     was acknowledged with at {t} ms",
                    e.t
                ),
            ));
        }
        let Some(s) = m.sessions.get(session) else {
            continue;
        };
        let earlier = s.events.iter().find(|(t, _, eid, data)| {
            *t < e.t && eid.as_deref() == Some(id.as_str()) && !data.contains(marker.as_str())
        });
        if let Some((t, conn, _, data)) = earlier {
            out.push(v(
                4,
                "an acknowledged id already used for other data",
                session,
                format!(
                    "push {marker} was acknowledged at {} ms with id {id}, which the client had \
                     already received at {t} ms (conn {conn}) for other data: {data}",
                    e.t
                ),
            ));
        }
    }
}

/// Invariant 2.
fn supersede(h: &[Entry], m: &Model, out: &mut Vec<Violation>) {
    for e in h {
        match &e.rec {
            Rec::Open {
                conn,
                session,
                kind: kind @ (ConnKind::Fresh | ConnKind::Resume),
                status: 409,
                body,
                leid,
                ..
            } => out.push(v(
                2,
                "GET answered 409",
                session,
                format!(
                    "GET /mcp ({kind:?}, Last-Event-ID {leid:?}) answered 409 at {} ms on conn \
                     {conn}: {body}",
                    e.t
                ),
            )),
            Rec::NotEnded {
                conn,
                superseded_at,
            } => {
                let session = m.conns.get(conn).map_or("?", |c| c.session.as_str());
                out.push(v(
                    2,
                    "a superseded attachment not ended within 3 s",
                    session,
                    format!(
                        "the older attachment (conn {conn}) was still open {} ms after a newer \
                         one got 200 at {superseded_at} ms",
                        e.t - superseded_at
                    ),
                ));
            }
            _ => {}
        }
    }
    for (sid, s) in &m.sessions {
        let mut seen = std::collections::HashSet::new();
        for (t, conn, data) in &s.drained {
            let (Some(mk), Some(c)) = (marker_of(data), m.conns.get(conn)) else {
                continue;
            };
            if !seen.insert((*conn, mk.clone())) {
                continue;
            }
            let (Some(at), Some(&sent)) = (c.superseded, m.sent.get(&mk)) else {
                continue;
            };
            if sent > at {
                out.push(v(
                    2,
                    "a superseded attachment received a newer message",
                    sid,
                    format!(
                        "the superseded attachment (conn {conn}) received {mk} (sent at {sent} \
                         ms, read at {t} ms) after a newer attachment got 200 at {at} ms"
                    ),
                ));
            }
        }
    }
}

/// Invariants 3 and 4 (`strict`: also order and bookings, which only the final check
/// judges).
fn owed(h: &[Entry], m: &Model, out: &mut Vec<Violation>, strict: bool) {
    let mut order: BTreeMap<(String, u64), Vec<String>> = BTreeMap::new();
    for e in h {
        match &e.rec {
            Rec::Broadcast {
                marker,
                sent,
                status: 202,
                target,
            } => {
                for (sid, s) in &m.sessions {
                    let Some(c) = m.attached_over(sid, *sent, e.t + SETTLE_MS) else {
                        continue;
                    };
                    let keeps = if s.legacy {
                        c.end.is_none_or(|end| end > e.t + 3 * SETTLE_MS)
                    } else {
                        m.kept(sid, c.logical, *sent)
                    };
                    if keeps && m.count(sid, marker) == 0 {
                        out.push(v(
                            3,
                            "an acknowledged broadcast lost",
                            sid,
                            format!(
                                "broadcast {marker} (via {target}, acknowledged at {} ms) never \
                                 reached the session, attached since {} ms",
                                e.t, c.opened
                            ),
                        ));
                    }
                }
            }
            Rec::Push {
                session,
                marker,
                sent,
                status: 202,
                id,
                target,
            } => {
                let Some(s) = m.sessions.get(session) else {
                    continue;
                };
                let owed = if s.legacy {
                    m.attached_over(session, *sent, e.t + 3 * SETTLE_MS)
                        .is_some()
                } else {
                    match m.logical_at(session, *sent) {
                        Some(l) if m.kept(session, l, *sent) => {
                            order
                                .entry((session.clone(), l))
                                .or_default()
                                .push(marker.clone());
                            true
                        }
                        _ => false,
                    }
                };
                if owed && m.count(session, marker) == 0 {
                    out.push(v(
                        4,
                        "an acknowledged push lost without 410/404",
                        session,
                        format!(
                            "push {marker} (via {target}, acknowledged with id {id:?} at {} ms) \
                             never reached the client, which kept resuming its stream and was \
                             not told (no 410/404)",
                            e.t
                        ),
                    ));
                }
                if strict && let Some(id) = id {
                    let got: Vec<&Option<String>> = s
                        .events
                        .iter()
                        .filter(|x| marker_of(&x.3).as_deref() == Some(marker))
                        .map(|x| &x.2)
                        .collect();
                    if let Some(other) = got.iter().find(|g| g.as_deref() != Some(id.as_str())) {
                        out.push(v(
                            4,
                            "a push arrived with another id than acknowledged",
                            session,
                            format!(
                                "push {marker} was acknowledged with id {id} but arrived with \
                                 id {other:?}"
                            ),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    if !strict {
        return;
    }
    // Order of arrival among acknowledged pushes of one stream (one sequential pusher).
    for ((sid, _), markers) in order {
        let Some(s) = m.sessions.get(&sid) else {
            continue;
        };
        let pos = |mk: &str| {
            s.events
                .iter()
                .position(|e| marker_of(&e.3).as_deref() == Some(mk))
        };
        let arrived: Vec<(usize, &String)> = markers
            .iter()
            .filter_map(|mk| pos(mk).map(|p| (p, mk)))
            .collect();
        if let Some(w) = arrived.windows(2).find(|w| w[0].0 > w[1].0) {
            out.push(v(
                4,
                "pushes out of acknowledgement order",
                &sid,
                format!(
                    "pushes arrived out of acknowledgement order: {} before {}",
                    w[1].1, w[0].1
                ),
            ));
        }
    }
    bookings(h, m, out);
}

/// Invariant 3 for change notices: `resources/updated` after each acknowledged booking, to
/// every subscribed session attached throughout the call.
fn bookings(h: &[Entry], m: &Model, out: &mut Vec<Violation>) {
    let mut calls: HashMap<u64, Ms> = HashMap::new();
    let mut done: Vec<(Ms, Ms)> = Vec::new();
    let mut all: Vec<Ms> = Vec::new();
    for e in h {
        match &e.rec {
            Rec::Call { call, tool, .. } if tool == "create_booking" => {
                calls.insert(*call, e.t);
                all.push(e.t);
            }
            Rec::CallDone {
                call,
                booking: true,
                ok: true,
                ..
            } => {
                if let Some(&sent) = calls.get(call) {
                    done.push((sent, e.t));
                }
            }
            _ => {}
        }
    }
    for (sid, s) in &m.sessions {
        let Some(sub) = s.subscribed else { continue };
        let owed = done
            .iter()
            .filter(|&&(sent, at)| {
                sent > sub
                    && m.attached_over(sid, sent, at + SETTLE_MS).is_some_and(|c| {
                        s.legacy && c.end.is_none_or(|end| end > at + 3 * SETTLE_MS)
                            || !s.legacy && m.kept(sid, c.logical, sent)
                    })
            })
            .count();
        // A change notice is matched to the session's subscriptions when its stream applies
        // it: one made before the subscription but applied after it (the stream was away)
        // may arrive. Each booking since the session began gives at most one.
        let possible = all.iter().filter(|&&t| t + SETTLE_MS > s.created).count();
        let got = s
            .events
            .iter()
            .filter(|e| {
                e.3.contains("notifications/resources/updated") && e.3.contains("clients://all")
            })
            .count();
        if got < owed {
            out.push(v(
                3,
                "resources/updated after a booking lost",
                sid,
                format!(
                    "{got} notifications/resources/updated for clients://all received, but {owed} \
                     bookings were acknowledged while the session was subscribed and attached"
                ),
            ));
        }
        if got > possible {
            out.push(v(
                1,
                "more resources/updated than bookings",
                sid,
                format!(
                    "{got} notifications/resources/updated for clients://all received, more \
                     than the {possible} bookings made since the session began"
                ),
            ));
        }
    }
}

/// Invariant 5.
fn calls(h: &[Entry], out: &mut Vec<Violation>) {
    let mut sessions: HashMap<u64, (&str, &str, bool)> = HashMap::new();
    for e in h {
        match &e.rec {
            Rec::Call {
                call,
                session,
                tool,
                legacy,
                ..
            } => {
                sessions.insert(*call, (session, tool, *legacy));
            }
            Rec::CallDone {
                call,
                answers,
                told,
                ..
            } => {
                let (session, tool, legacy) = sessions.get(call).copied().unwrap_or_default();
                let era = if legacy { "HTTP+SSE " } else { "" };
                if *answers > 1 {
                    out.push(v(
                        5,
                        "a call answered more than once",
                        session,
                        format!("{era}call {call} ({tool}) got {answers} final answers"),
                    ));
                } else if *answers == 0 && told.is_none() {
                    out.push(v(
                        5,
                        "a call never answered",
                        session,
                        format!(
                            "{era}call {call} ({tool}) got no final answer (nor a JSON-RPC \
                             error) within the deadline (12 s; 5.5 s = lease + slack once its \
                             stream broke), and the client was not told (no 404/410)"
                        ),
                    ));
                }
            }
            _ => {}
        }
    }
}

/// Whether an answer came from a node (not the balancer finding none, nor a node whose
/// state backend was down): only those could refresh a session.
fn reached_a_node(status: u16) -> bool {
    !matches!(status, 0 | 502 | 503 | 504)
}

/// Invariant 6: a 404 only for a session deleted, or idle (no request, no attached stream)
/// for the idle TTL.
fn expiry(m: &Model, out: &mut Vec<Violation>) {
    for (sid, s) in &m.sessions {
        if s.legacy || s.deleted.is_some() {
            continue;
        }
        let Some((t, what)) = s.not_found.first() else {
            continue;
        };
        let mut spans: Vec<(Ms, Ms)> = s
            .activity
            .iter()
            .copied()
            .filter(|&(a, _)| a < *t)
            .collect();
        spans.sort();
        let mut covered = s.created;
        let mut longest = 0;
        for (a, b) in spans {
            longest = longest.max(a.saturating_sub(covered));
            covered = covered.max(b);
        }
        longest = longest.max(t.saturating_sub(covered));
        // A store may skip refreshing a TTL it refreshed less than a quarter TTL ago, and a
        // listening stream refreshes every quarter TTL: a session may expire half a TTL
        // after its last activity (the contract: activity every three quarters keeps it).
        if longest < TTL_MS / 2 {
            out.push(v(
                6,
                "a listening session expired (404)",
                sid,
                format!(
                    "{what} answered 404 at {t} ms, but the session was never idle longer than \
                     {longest} ms (idle TTL {TTL_MS} ms): its GET stream was open"
                ),
            ));
        }
    }
}

/// The history lines that concern `session` (its connections included), for a report.
pub(crate) fn excerpt(h: &[Entry], session: &str, max: usize) -> Vec<String> {
    let m = Model::build(h);
    let mine = |conn: &u64| m.conns.get(conn).is_some_and(|c| c.session == session);
    let lines: Vec<String> = h
        .iter()
        .filter(|e| {
            let text = format!("{:?}", e.rec);
            text.contains(session)
                || matches!(&e.rec, Rec::Fault { .. } | Rec::Broadcast { .. })
                || match &e.rec {
                    Rec::End { conn, .. }
                    | Rec::Left { conn, .. }
                    | Rec::NotEnded { conn, .. }
                    | Rec::Superseded { conn } => mine(conn),
                    _ => false,
                }
        })
        .map(|e| {
            let s = e.to_string();
            if s.chars().count() > 300 {
                format!("{}…", s.chars().take(300).collect::<String>())
            } else {
                s
            }
        })
        .collect();
    let skip = lines.len().saturating_sub(max);
    lines.into_iter().skip(skip).collect()
}

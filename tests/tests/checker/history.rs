//! The history of one run: every operation with its acknowledgement and every event a client
//! received, stamped with milliseconds since the run started. The checker reads only this.

use std::fmt;
use std::sync::{Arc, Mutex};

use tokio::time::Instant;

/// Milliseconds since the run started.
pub(crate) type Ms = u64;

/// What kind of HTTP connection carried events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnKind {
    /// `GET /mcp` without `Last-Event-ID`: a fresh standalone stream.
    Fresh,
    /// `GET /mcp` with `Last-Event-ID` of the session's standalone stream.
    Resume,
    /// The SSE answer of a `POST /mcp` (a request stream).
    Post,
    /// `GET /mcp` with `Last-Event-ID` of a request stream.
    ResumePost,
    /// `GET /sse` (2024-11-05).
    Legacy,
}

/// How a client left a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Leave {
    Fin,
    Rst,
    /// Stopped reading, socket kept open.
    Silent,
}

/// One entry. Some fields are only read through `Debug`, in the excerpts of a failed run.
#[allow(dead_code)]
#[derive(Debug, Clone)]
pub(crate) enum Rec {
    /// A session was initialized for client `client`.
    Session {
        client: usize,
        session: String,
        legacy: bool,
    },
    /// Any request made in a session by its client (the session's activity), with its answer.
    Request {
        session: String,
        what: String,
        status: u16,
    },
    /// A connection got its response head; `logical` names the client's standalone stream
    /// (one per fresh GET) or the request (`Post`, `ResumePost`).
    Open {
        conn: u64,
        session: String,
        kind: ConnKind,
        logical: u64,
        target: String,
        node: String,
        status: u16,
        leid: Option<String>,
        sent: Ms,
        body: String,
    },
    /// An event read from a connection. `drained`: read late from a silent connection.
    Event {
        conn: u64,
        session: String,
        id: Option<String>,
        data: String,
        drained: bool,
    },
    /// The server ended a connection (or it broke).
    End { conn: u64, why: String },
    /// The client left a connection.
    Left { conn: u64, how: Leave },
    /// A newer attachment of the session got its 200 while this silent connection was open.
    Superseded { conn: u64 },
    /// A drained silent connection had not ended by the deadline after it was superseded.
    NotEnded { conn: u64, superseded_at: Ms },
    /// An admin push; `status` 0: no answer.
    Push {
        session: String,
        marker: String,
        target: String,
        sent: Ms,
        status: u16,
        id: Option<String>,
    },
    /// An admin broadcast.
    Broadcast {
        marker: String,
        target: String,
        sent: Ms,
        status: u16,
    },
    /// A raw `PUBLISH` of a `deliver` envelope.
    Deliver {
        session: String,
        marker: String,
        receivers: i64,
    },
    /// `resources/subscribe` to `clients://all` answered.
    Subscribed { session: String, status: u16 },
    /// A `tools/call` sent (`call`: a number unique in the run).
    Call {
        call: u64,
        session: String,
        rpc_id: u64,
        tool: String,
        legacy: bool,
    },
    /// A call's end as its client saw it: `answers` final responses, or told (`told`: the
    /// status that said so), or given up at the deadline.
    CallDone {
        call: u64,
        answers: usize,
        told: Option<String>,
        booking: bool,
        ok: bool,
    },
    /// The client was told plainly that its standalone stream or session is gone.
    Told {
        session: String,
        logical: u64,
        status: u16,
    },
    /// The client gave the session up with a DELETE (answered or not: it stops following).
    Deleted { session: String },
    /// A fault injected.
    Fault { what: String },
}

/// A stamped entry.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) t: Ms,
    pub(crate) rec: Rec,
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>6} ms  {:?}", self.t, self.rec)
    }
}

/// The shared, append-only history of a run.
#[derive(Debug, Clone)]
pub(crate) struct History {
    start: Instant,
    entries: Arc<Mutex<Vec<Entry>>>,
}

impl History {
    pub(crate) fn new() -> History {
        History {
            start: Instant::now(),
            entries: Arc::default(),
        }
    }

    /// Now, in run milliseconds.
    pub(crate) fn now(&self) -> Ms {
        self.start.elapsed().as_millis() as Ms
    }

    /// Appends `rec`, stamped now.
    pub(crate) fn add(&self, rec: Rec) {
        let t = self.now();
        self.entries.lock().expect("history").push(Entry { t, rec });
    }

    /// A copy of every entry so far.
    pub(crate) fn snapshot(&self) -> Vec<Entry> {
        self.entries.lock().expect("history").clone()
    }
}

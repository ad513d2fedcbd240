//! A client's standalone GET stream, followed by a task of its own as a real client would:
//! it reads every event, resumes with `Last-Event-ID` through the balancer when the server
//! ends the stream, opens a fresh stream after 410, and stops after 404. The schedule makes
//! it leave (FIN, RST, silent) and come back (resume on a chosen node, or a fresh GET).
//!
//! A silent connection is kept unread; once a newer attachment of the session got its 200
//! it is drained: it must end within [`SUPERSEDE`] and what it carried is recorded as
//! `drained` (the client never saw it), for the checker.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::ctx::{Ctx, Target};
use crate::history::{ConnKind, Leave, Rec};
use crate::wire::{Conn, Next};

/// How long an older attachment may live on after a newer one got its 200.
pub(crate) const SUPERSEDE: Duration = Duration::from_secs(3);

/// How long the follower keeps trying to get back onto its stream (nodes may be down).
const RECONNECT: Duration = Duration::from_secs(10);

/// What the schedule tells a follower.
#[derive(Debug)]
pub(crate) enum Cmd {
    Leave(Leave),
    Resume(Target),
    Reopen(Target),
}

/// What the follower knows, shared with the executor.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// The current logical stream (one per fresh GET that got 200).
    pub(crate) logical: Option<u64>,
    pub(crate) last_id: Option<String>,
    /// A connection is open and read.
    pub(crate) attached: bool,
    /// The session is gone (404).
    pub(crate) gone: bool,
}

/// The handle the executor keeps.
#[derive(Debug)]
pub(crate) struct Follower {
    tx: mpsc::UnboundedSender<Cmd>,
    pub(crate) state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl Follower {
    /// Starts following `session` with a fresh GET through `target`.
    pub(crate) fn start(ctx: Ctx, session: String, target: Target) -> Follower {
        let (tx, rx) = mpsc::unbounded_channel();
        let state = Arc::new(Mutex::new(State::default()));
        let mut task = Task {
            ctx,
            session,
            state: state.clone(),
            current: None,
            silent: Vec::new(),
            drains: Vec::new(),
        };
        let task = tokio::spawn(async move {
            task.fresh(target).await;
            task.run(rx).await;
        });
        Follower { tx, state, task }
    }

    pub(crate) fn send(&self, cmd: Cmd) {
        let _ = self.tx.send(cmd);
    }

    pub(crate) fn gone(&self) -> bool {
        self.state.lock().expect("state").gone
    }

    /// Leaves every connection (FIN) and waits for the task (and its drains).
    pub(crate) async fn stop(self) {
        drop(self.tx);
        let _ = tokio::time::timeout(Duration::from_secs(15), self.task).await;
    }
}

struct Task {
    ctx: Ctx,
    session: String,
    state: Arc<Mutex<State>>,
    current: Option<(u64, Conn)>,
    silent: Vec<(u64, Conn)>,
    drains: Vec<JoinHandle<()>>,
}

impl Task {
    async fn run(&mut self, mut rx: mpsc::UnboundedReceiver<Cmd>) {
        loop {
            let read = async {
                match &mut self.current {
                    Some((_, c)) => Some(c.next(Instant::now() + Duration::from_secs(3600)).await),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(cmd) => self.command(cmd).await,
                    None => break,
                },
                Some(next) = read => self.on_read(next).await,
            }
        }
        if let Some((conn, c)) = self.current.take() {
            self.ctx.hist.add(Rec::Left {
                conn,
                how: Leave::Fin,
            });
            c.fin().await;
        }
        // Silent connections never superseded: drained now, nothing required of them.
        for (conn, c) in std::mem::take(&mut self.silent) {
            self.ctx.hist.add(Rec::Left {
                conn,
                how: Leave::Fin,
            });
            c.fin().await;
        }
        for d in self.drains.drain(..) {
            let _ = d.await;
        }
    }

    async fn on_read(&mut self, next: anyhow::Result<Next>) {
        let Some((conn, _)) = &self.current else {
            return;
        };
        let conn = *conn;
        match next {
            Ok(Next::Event(e)) => {
                if let Some(id) = &e.id {
                    self.state.lock().expect("state").last_id = Some(id.clone());
                }
                self.ctx.hist.add(Rec::Event {
                    conn,
                    session: self.session.clone(),
                    id: e.id,
                    data: e.data,
                    drained: false,
                });
            }
            Ok(Next::End) | Err(_) => {
                let why = match next {
                    Err(e) => format!("{e:#}"),
                    _ => "ended".to_owned(),
                };
                self.ctx.hist.add(Rec::End { conn, why });
                self.current = None;
                self.state.lock().expect("state").attached = false;
                // A real client resumes at once, through the balancer.
                self.resume(Target::Nginx).await;
            }
        }
    }

    async fn command(&mut self, cmd: Cmd) {
        if self.state.lock().expect("state").gone {
            return;
        }
        match cmd {
            Cmd::Leave(how) => {
                let Some((conn, c)) = self.current.take() else {
                    return;
                };
                self.state.lock().expect("state").attached = false;
                self.ctx.hist.add(Rec::Left { conn, how });
                match how {
                    Leave::Fin => c.fin().await,
                    Leave::Rst => c.rst(),
                    Leave::Silent => self.silent.push((conn, c)),
                }
            }
            Cmd::Resume(target) => {
                if let Some(old) = self.current.take() {
                    // A new attachment while the old one is open: the client stops reading
                    // the old one (it must end by itself).
                    self.ctx.hist.add(Rec::Left {
                        conn: old.0,
                        how: Leave::Silent,
                    });
                    self.silent.push(old);
                }
                self.resume(target).await;
            }
            Cmd::Reopen(target) => {
                // Until the fresh GET works the client is away (and comes back at the end).
                self.state.lock().expect("state").attached = false;
                if let Some((conn, c)) = self.current.take() {
                    self.ctx.hist.add(Rec::Left {
                        conn,
                        how: Leave::Fin,
                    });
                    c.fin().await;
                }
                self.fresh(target).await;
            }
        }
    }

    /// A fresh GET: a new logical stream when it gets 200.
    async fn fresh(&mut self, target: Target) {
        let logical = self.ctx.next();
        let (conn, r) = self
            .ctx
            .open(&self.session, ConnKind::Fresh, logical, target, None)
            .await;
        match r {
            Ok(c) if c.status == 200 => {
                {
                    let mut st = self.state.lock().expect("state");
                    st.logical = Some(logical);
                    st.last_id = None;
                    st.attached = true;
                }
                self.current = Some((conn, c));
                self.supersede();
            }
            Ok(c) if c.status == 404 => self.told(logical, 404),
            // 409 and the rest: the client stays away until told to come back.
            _ => {}
        }
    }

    /// Resumes the logical stream with `Last-Event-ID` on `target`, then through the balancer
    /// until it works or the client is told; a fresh GET when there is nothing to resume.
    async fn resume(&mut self, target: Target) {
        let (logical, leid) = {
            let st = self.state.lock().expect("state");
            (st.logical, st.last_id.clone())
        };
        let (Some(logical), Some(leid)) = (logical, leid) else {
            return self.fresh(target).await;
        };
        let end = Instant::now() + RECONNECT;
        let mut target = target;
        loop {
            let (conn, r) = self
                .ctx
                .open(
                    &self.session,
                    ConnKind::Resume,
                    logical,
                    target,
                    Some(&leid),
                )
                .await;
            match r {
                Ok(c) if c.status == 200 => {
                    self.state.lock().expect("state").attached = true;
                    self.current = Some((conn, c));
                    self.supersede();
                    return;
                }
                Ok(c) if c.status == 404 => return self.told(logical, 404),
                Ok(c) if c.status == 410 => {
                    self.told(logical, 410);
                    return self.fresh(Target::Nginx).await;
                }
                _ => {}
            }
            if Instant::now() >= end {
                return;
            }
            target = Target::Nginx;
            // Pacing between attempts while a node restarts (each attempt is recorded).
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    fn told(&mut self, logical: u64, status: u16) {
        self.ctx.hist.add(Rec::Told {
            session: self.session.clone(),
            logical,
            status,
        });
        let mut st = self.state.lock().expect("state");
        st.gone = status == 404;
        st.attached = false;
    }

    /// A newer attachment got its 200: every silent connection is drained until it ends or
    /// [`SUPERSEDE`] passes.
    fn supersede(&mut self) {
        let at = self.ctx.hist.now();
        let until = Instant::now() + SUPERSEDE;
        for (conn, mut c) in std::mem::take(&mut self.silent) {
            self.ctx.hist.add(Rec::Superseded { conn });
            let ctx = self.ctx.clone();
            let session = self.session.clone();
            self.drains.push(tokio::spawn(async move {
                loop {
                    // What is already buffered is read even after the deadline.
                    let deadline = until.max(Instant::now() + Duration::from_millis(300));
                    match c.next(deadline).await {
                        Ok(Next::Event(e)) => ctx.hist.add(Rec::Event {
                            conn,
                            session: session.clone(),
                            id: e.id,
                            data: e.data,
                            drained: true,
                        }),
                        Ok(Next::End) => {
                            ctx.hist.add(Rec::End {
                                conn,
                                why: "ended after being superseded".to_owned(),
                            });
                            break;
                        }
                        Err(e) if Instant::now() < until => {
                            // A reset is an end too.
                            ctx.hist.add(Rec::End {
                                conn,
                                why: format!("{e:#}"),
                            });
                            break;
                        }
                        Err(_) => {
                            ctx.hist.add(Rec::NotEnded {
                                conn,
                                superseded_at: at,
                            });
                            break;
                        }
                    }
                }
                c.rst();
            }));
        }
    }
}

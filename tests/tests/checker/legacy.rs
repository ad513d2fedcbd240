//! A 2024-11-05 HTTP+SSE session: `GET /sse` (the `endpoint` event names the session), read
//! by a task of its own until the server ends it or the client leaves. That era has no
//! resumption: when the stream ends, the session is over.

use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::ctx::{Ctx, Target};
use crate::history::{ConnKind, Leave, Rec};
use crate::wire::Next;

/// A legacy session and the task reading its stream.
#[derive(Debug)]
pub(crate) struct Legacy {
    pub(crate) session: String,
    pub(crate) conn: u64,
    leave: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Legacy {
    /// Opens `/sse` on `target` and waits for the `endpoint` event.
    pub(crate) async fn open(ctx: &Ctx, target: Target) -> anyhow::Result<Legacy> {
        let (conn, c) = ctx.open("", ConnKind::Legacy, 0, target, None).await;
        let mut c = c?;
        anyhow::ensure!(c.status == 200, "GET /sse answered {}", c.status);
        let until = Instant::now() + Duration::from_secs(10);
        let endpoint = loop {
            match c.next(until).await? {
                Next::Event(e) if e.event.as_deref() == Some("endpoint") => break e.data,
                Next::Event(_) => continue,
                Next::End => anyhow::bail!("/sse ended before the endpoint event"),
            }
        };
        let session = endpoint
            .split("sessionId=")
            .nth(1)
            .ok_or_else(|| anyhow::anyhow!("endpoint without sessionId: {endpoint}"))?
            .to_owned();
        ctx.hist.add(Rec::Session {
            client: usize::MAX,
            session: session.clone(),
            legacy: true,
        });
        // The connection's session, for the checker.
        ctx.hist.add(Rec::Open {
            conn,
            session: session.clone(),
            kind: ConnKind::Legacy,
            logical: conn,
            target: Ctx::name(target),
            node: c.header("x-switchyard-node").unwrap_or("?").to_owned(),
            status: 200,
            leid: None,
            sent: ctx.hist.now(),
            body: String::new(),
        });
        let (tx, mut rx) = oneshot::channel();
        let hist = ctx.hist.clone();
        let s = session.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut rx => {
                        hist.add(Rec::Left { conn, how: Leave::Fin });
                        c.fin().await;
                        return;
                    }
                    next = c.next(Instant::now() + Duration::from_secs(3600)) => match next {
                        Ok(Next::Event(e)) => hist.add(Rec::Event {
                            conn,
                            session: s.clone(),
                            id: e.id,
                            data: e.data,
                            drained: false,
                        }),
                        Ok(Next::End) => {
                            hist.add(Rec::End { conn, why: "ended".to_owned() });
                            return;
                        }
                        Err(e) => {
                            hist.add(Rec::End { conn, why: format!("{e:#}") });
                            return;
                        }
                    },
                }
            }
        });
        Ok(Legacy {
            session,
            conn,
            leave: Some(tx),
            task,
        })
    }

    /// Whether the stream is still being read.
    pub(crate) fn alive(&self) -> bool {
        !self.task.is_finished()
    }

    /// Leaves the stream (FIN) and waits for the task.
    pub(crate) async fn stop(mut self) {
        if let Some(tx) = self.leave.take() {
            let _ = tx.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}

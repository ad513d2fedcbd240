//! One run: a fresh cluster, the clients, the schedule executed step by step, a quiet
//! period (until every client has what it is owed, with a deadline), then the history.

use std::time::Duration;

use serde_json::json;
use switchyard_tests::{Cluster, Signal};
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, block_in_place};
use tokio::time::Instant;

use crate::calls::{self, Tool};
use crate::check::{self, TTL_MS};
use crate::ctx::{Ctx, Target, marked};
use crate::follower::{Cmd, Follower};
use crate::history::{Entry, History, Rec};
use crate::legacy::Legacy;
use crate::schedule::{CLIENTS, LEGACY, NODES, Op, Step};

/// The longest the schedule runs; the rest of it is skipped.
const ACTIVE: Duration = Duration::from_secs(12);
/// When the listener is probed (once): well past the idle TTL.
const PROBE_AT_MS: u64 = 11_500;
/// The longest the quiet period waits for what is owed.
const QUIET: Duration = Duration::from_secs(6);
/// Steps after which a node killed under a report is started again.
const RESTART_AFTER: usize = 12;

/// What a run produced.
#[derive(Debug)]
pub(crate) struct Report {
    pub(crate) history: Vec<Entry>,
    pub(crate) violations: Vec<check::Violation>,
    pub(crate) steps_done: usize,
}

#[derive(Debug)]
enum Client {
    Empty,
    Mcp { session: String, follower: Follower },
    Legacy(Legacy),
}

struct Exec {
    cluster: Cluster,
    ctx: Ctx,
    clients: Vec<Client>,
    calls: Vec<JoinHandle<()>>,
    restarts: Vec<(usize, usize)>,
    step: usize,
    probed: bool,
}

/// Runs `schedule` on a fresh cluster.
pub(crate) async fn run(schedule: &[Step]) -> Report {
    let cluster = block_in_place(|| {
        Cluster::builder(NODES, "demo")
            .env(
                "SWITCHYARD__SESSION__IDLE_TTL_SECS",
                (TTL_MS / 1000).to_string(),
            )
            .env("SWITCHYARD__HTTP__KEEP_ALIVE_SECS", "1")
            .env("SWITCHYARD__SESSION__PRODUCER_LEASE_MS", "1500")
            .env("RUST_LOG", "error")
            .start()
    });
    let hist = History::new();
    let nodes = (0..NODES).map(|i| cluster.node(i).addr()).collect();
    let ctx = Ctx::new(hist.clone(), cluster.nginx().addr(), nodes);
    let mut exec = Exec {
        cluster,
        ctx,
        clients: (0..CLIENTS).map(|_| Client::Empty).collect(),
        calls: Vec::new(),
        restarts: Vec::new(),
        step: 0,
        probed: false,
    };
    exec.ensure(0).await;
    let start = Instant::now();
    for step in schedule {
        if start.elapsed() >= ACTIVE {
            break;
        }
        // Pacing between operations (not synchronisation).
        tokio::time::sleep(Duration::from_millis(step.pause_ms)).await;
        exec.due_restarts();
        if !exec.probed && hist.now() >= PROBE_AT_MS {
            exec.probed = true;
            exec.probe().await;
        }
        exec.op(&step.op).await;
        exec.step += 1;
    }
    let steps_done = exec.step;
    exec.quiet().await;
    exec.stop_clients().await;
    let history = hist.snapshot();
    block_in_place(|| drop(exec.cluster));
    let violations = check::check(&history);
    Report {
        history,
        violations,
        steps_done,
    }
}

impl Exec {
    fn fault(&self, what: String) {
        self.ctx.hist.add(Rec::Fault { what });
    }

    fn session(&self, client: usize) -> Option<String> {
        match &self.clients[client] {
            Client::Mcp { session, .. } => Some(session.clone()),
            Client::Legacy(l) => Some(l.session.clone()),
            Client::Empty => None,
        }
    }

    /// Makes sure `client` has a live session (and its stream), starting a new one if not.
    async fn ensure(&mut self, client: usize) -> Option<String> {
        let dead = match &self.clients[client] {
            Client::Mcp { follower, .. } => follower.gone(),
            Client::Legacy(l) => !l.alive(),
            Client::Empty => true,
        };
        if dead {
            match std::mem::replace(&mut self.clients[client], Client::Empty) {
                Client::Mcp { follower, .. } => follower.stop().await,
                Client::Legacy(l) => l.stop().await,
                Client::Empty => {}
            }
            if client == LEGACY {
                if let Ok(l) = Legacy::open(&self.ctx, Target::Nginx).await {
                    self.clients[client] = Client::Legacy(l);
                }
            } else if let Ok(session) = self.ctx.initialize().await {
                self.ctx.hist.add(Rec::Session {
                    client,
                    session: session.clone(),
                    legacy: false,
                });
                let follower = Follower::start(self.ctx.clone(), session.clone(), Target::Nginx);
                self.clients[client] = Client::Mcp { session, follower };
            }
        }
        self.session(client)
    }

    fn due_restarts(&mut self) {
        let step = self.step;
        let due: Vec<usize> = self
            .restarts
            .iter()
            .filter(|&&(at, _)| at <= step)
            .map(|&(_, n)| n)
            .collect();
        self.restarts.retain(|&(at, _)| at > step);
        for node in due {
            self.restart(node);
        }
    }

    fn restart(&mut self, node: usize) {
        if self.cluster.is_up(node) {
            return;
        }
        let r = block_in_place(|| self.cluster.restart_node(node));
        self.fault(format!("restart node-{node}: {r:?}"));
    }

    fn stop_node(&mut self, node: usize, signal: Signal) {
        let live = (0..NODES).filter(|&i| self.cluster.is_up(i)).count();
        if !self.cluster.is_up(node) || live < 2 {
            return;
        }
        self.fault(format!("SIG{} node-{node}", signal.name()));
        block_in_place(|| self.cluster.stop_node(node, signal));
        self.restarts.push((self.step + RESTART_AFTER, node));
    }

    async fn push(&mut self, client: usize, target: Target, prefix: &str) {
        let Some(session) = self.ensure(client).await else {
            return;
        };
        let marker = format!("{prefix}-{}", self.ctx.next());
        let sent = self.ctx.hist.now();
        let path = format!("/admin/v1/sessions/{session}/messages");
        let (status, body) = self.ctx.admin(target, &path, &marked(&marker)).await;
        self.ctx.hist.add(Rec::Push {
            session,
            marker,
            target: Ctx::name(target),
            sent,
            status,
            id: body["id"].as_str().map(str::to_owned),
        });
    }

    async fn probe(&mut self) {
        self.push(0, Target::Nginx, "q").await;
    }

    fn call(&mut self, client: usize, session: String, target: Target, tool: Tool) {
        let ctx = self.ctx.clone();
        let task = match &self.clients[client] {
            Client::Legacy(l) => {
                tokio::spawn(calls::legacy_call(ctx, session, l.conn, target, tool))
            }
            _ => tokio::spawn(calls::call(ctx, session, target, tool, None)),
        };
        self.calls.push(task);
    }

    async fn op(&mut self, op: &Op) {
        match *op {
            Op::Report { client, target } => {
                if let Some(s) = self.ensure(client).await {
                    self.call(client, s, target, Tool::report());
                }
            }
            Op::Cheap { client } => {
                if let Some(s) = self.ensure(client).await {
                    self.call(client, s, Target::Nginx, Tool::cheap());
                }
            }
            Op::Booking { client } => {
                if let Some(s) = self.ensure(client).await {
                    let n = self.ctx.next();
                    self.call(client, s, Target::Nginx, Tool::booking(n));
                }
            }
            Op::Subscribe { client } => self.subscribe(client).await,
            Op::Push { client, target } => self.push(client, target, "p").await,
            Op::Broadcast { target } => {
                let marker = format!("b-{}", self.ctx.next());
                let sent = self.ctx.hist.now();
                let (status, _) = self
                    .ctx
                    .admin(target, "/admin/v1/broadcast", &marked(&marker))
                    .await;
                self.ctx.hist.add(Rec::Broadcast {
                    marker,
                    target: Ctx::name(target),
                    sent,
                    status,
                });
            }
            Op::Burst { n, kill_pubsub } => self.burst(n, kill_pubsub).await,
            Op::Deliver { client } => {
                let Some(session) = self.ensure(client).await else {
                    return;
                };
                let marker = format!("d-{}", self.ctx.next());
                let envelope = json!({"t": "deliver", "data": marked(&marker).to_string()});
                let channel = format!("sy:c:anonymous:{session}");
                let receivers = self
                    .cluster
                    .publish(&channel, &envelope.to_string())
                    .unwrap_or(-1);
                self.ctx.hist.add(Rec::Deliver {
                    session,
                    marker,
                    receivers,
                });
            }
            Op::Leave { client, how } => match &self.clients[client] {
                Client::Mcp { follower, .. } => follower.send(Cmd::Leave(how)),
                Client::Legacy(_) => {
                    if let Client::Legacy(l) =
                        std::mem::replace(&mut self.clients[client], Client::Empty)
                    {
                        l.stop().await;
                    }
                }
                Client::Empty => {}
            },
            Op::Resume { client, target } => {
                if let Client::Mcp { follower, .. } = &self.clients[client] {
                    follower.send(Cmd::Resume(target));
                }
            }
            Op::Reopen { client, target } => {
                if let Client::Mcp { follower, .. } = &self.clients[client] {
                    follower.send(Cmd::Reopen(target));
                }
            }
            Op::Delete { client } => {
                match std::mem::replace(&mut self.clients[client], Client::Empty) {
                    Client::Mcp { session, follower } => {
                        self.ctx.delete(&session).await;
                        follower.stop().await;
                    }
                    Client::Legacy(l) => l.stop().await,
                    Client::Empty => {}
                }
            }
            Op::StopNode { node, signal } => self.stop_node(node, signal),
            Op::RestartNode { node } => self.restart(node),
            Op::KillPubsub => {
                let r = self.cluster.kill_pubsub_connections();
                self.fault(format!("CLIENT KILL TYPE pubsub: {r:?}"));
            }
            Op::RestartRedis { signal } => {
                self.fault(format!("redis-server SIG{}", signal.name()));
                block_in_place(|| {
                    self.cluster.redis_mut().stop(signal);
                    self.cluster.redis_mut().restart();
                });
                self.fault("redis-server restarted".to_owned());
            }
            Op::EvictMeta { client } => {
                if let Some(s) = self.session(client) {
                    let key = format!("sy:l:{{{s}}}");
                    let r = self.cluster.del_keys(&[&key]);
                    self.fault(format!("DEL {key}: {r:?}"));
                }
            }
            Op::EvictEpoch => {
                let r = self.cluster.del_keys(&["sy:epoch"]);
                self.fault(format!("DEL sy:epoch: {r:?}"));
            }
            Op::KillDuringReport { client } => self.kill_during_report(client).await,
        }
    }

    async fn burst(&mut self, n: usize, kill_pubsub: bool) {
        let mut tasks = Vec::new();
        for i in 0..n {
            let ctx = self.ctx.clone();
            let target = match i % 4 {
                3 => Target::Nginx,
                i => Target::Node(i),
            };
            tasks.push(tokio::spawn(async move {
                let marker = format!("b-{}", ctx.next());
                let sent = ctx.hist.now();
                let (status, _) = ctx
                    .admin(target, "/admin/v1/broadcast", &marked(&marker))
                    .await;
                ctx.hist.add(Rec::Broadcast {
                    marker,
                    target: Ctx::name(target),
                    sent,
                    status,
                });
            }));
            if kill_pubsub && i == n / 2 {
                let r = self.cluster.kill_pubsub_connections();
                self.fault(format!("CLIENT KILL TYPE pubsub: {r:?}"));
            }
        }
        for t in tasks {
            let _ = t.await;
        }
    }

    async fn subscribe(&mut self, client: usize) {
        let Some(session) = self.ensure(client).await else {
            return;
        };
        let body = json!({
            "jsonrpc": "2.0", "id": self.ctx.next(), "method": "resources/subscribe",
            "params": {"uri": "clients://all"},
        });
        let status = if client == LEGACY {
            let url = format!("http://{}/messages?sessionId={session}", self.ctx.nginx);
            let r = self
                .ctx
                .http
                .post(url)
                .header("Content-Type", "application/json")
                .body(body.to_string())
                .send()
                .await;
            // Accepted: the node applied it before answering.
            match r.map(|r| r.status().as_u16()) {
                Ok(202) => 200,
                Ok(s) => s,
                Err(_) => 0,
            }
        } else {
            self.ctx.post_json(&session, &body).await
        };
        self.ctx.hist.add(Rec::Subscribed { session, status });
    }

    async fn kill_during_report(&mut self, client: usize) {
        let client = if client == LEGACY { 1 } else { client };
        let Some(session) = self.ensure(client).await else {
            return;
        };
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(calls::call(
            self.ctx.clone(),
            session,
            Target::Nginx,
            Tool::report(),
            Some(tx),
        ));
        self.calls.push(task);
        if let Ok(Ok(node)) = tokio::time::timeout(Duration::from_secs(5), rx).await
            && let Some(i) = self.cluster.index_of(&node)
        {
            self.stop_node(i, Signal::Kill);
        }
    }

    /// Brings everything back, has every client resume, and waits (with a deadline) until
    /// nothing owed is missing.
    async fn quiet(&mut self) {
        for node in 0..NODES {
            self.restart(node);
        }
        self.restarts.clear();
        for c in &self.clients {
            if let Client::Mcp { follower, .. } = c {
                let attached = follower.state.lock().expect("state").attached;
                if !attached {
                    follower.send(Cmd::Resume(Target::Nginx));
                }
            }
        }
        if !self.probed {
            self.probed = true;
            self.probe().await;
        }
        let end = Instant::now() + QUIET;
        while Instant::now() < end && check::missing(&self.ctx.hist.snapshot()) > 0 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn stop_clients(&mut self) {
        for c in std::mem::take(&mut self.clients) {
            match c {
                Client::Mcp { follower, .. } => follower.stop().await,
                Client::Legacy(l) => l.stop().await,
                Client::Empty => {}
            }
        }
        // Calls carry their own deadlines; the ones still running get that long to end.
        let end = Instant::now() + calls::AFTER_BREAK;
        for t in self.calls.drain(..) {
            let abort = t.abort_handle();
            if tokio::time::timeout_at(end, t).await.is_err() {
                abort.abort();
            }
        }
    }
}

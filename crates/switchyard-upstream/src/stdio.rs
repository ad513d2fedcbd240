//! [`StdioUpstream`]: an MCP server run as a command, spawned once per node and shared by
//! every client session the node serves, restarted with backoff when it exits.
//!
//! The process holds one MCP session, opened by the gateway itself (an `initialize` with
//! Switchyard's own client info, sent again after each restart); nothing about it is stored
//! in state, since every node runs its own process. Requests get ids of the node's own;
//! responses are matched by id, and `notifications/progress` by the request's progress token,
//! so each reaches the request it belongs to (and the client's stream through the request's
//! context). Requests the server sends (sampling, elicitation, roots) cannot be tied to one
//! client over a shared pipe and are answered with an error; other notifications are logged.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use switchyard_backend::{Backend, Context, ServerInfo};
use switchyard_protocol::jsonrpc::{
    ErrorObject, Id, Message, Notification, Request, Response, code,
};
use switchyard_protocol::revision::Revision;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::UpstreamConfig;
use crate::relay::ListGeneration;
use crate::upstream::StartError;

/// The first wait before a restart; doubled after each quick exit, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait between restarts.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// A process that ran this long resets the backoff.
const HEALTHY_AFTER: Duration = Duration::from_secs(30);
/// Messages one request may have in flight to it (progress, then the response).
const PER_REQUEST: usize = 32;
/// The longest line read from the process.
const MAX_LINE: usize = 16 * 1024 * 1024;

/// Where the messages for one pending request go.
type Pending = HashMap<Id, (Option<Value>, mpsc::Sender<Message>)>;

/// What the running process offers.
struct Running {
    stdin: tokio::sync::Mutex<tokio::process::ChildStdin>,
    pending: Mutex<Pending>,
    pid: Option<u32>,
}

/// A stdio MCP server as a backend.
pub struct StdioUpstream {
    cfg: UpstreamConfig,
    running: RwLock<Option<Arc<Running>>>,
    seen: RwLock<(ServerInfo, Value)>,
    /// Changed each time a process is up and initialized.
    up: tokio::sync::watch::Sender<u64>,
    stop: CancellationToken,
    next_id: AtomicU64,
    lists: Arc<ListGeneration>,
}

impl std::fmt::Debug for StdioUpstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StdioUpstream")
            .field("name", &self.cfg.name)
            .finish_non_exhaustive()
    }
}

impl Drop for StdioUpstream {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl StdioUpstream {
    /// Spawns the command and keeps it running (the supervisor stops when the backend is
    /// dropped; the process is killed with it). Waits up to `request_timeout_ms` for the
    /// first `initialize` so that its capabilities are known; a command that cannot be
    /// spawned at all stops the node.
    pub async fn start(
        cfg: UpstreamConfig,
        lists: Arc<ListGeneration>,
    ) -> Result<Arc<StdioUpstream>, StartError> {
        let Some(program) = cfg.command.first() else {
            return Err(StartError::Config {
                name: cfg.name.clone(),
                message: "kind stdio needs a command".into(),
            });
        };
        if which(program).is_none() {
            return Err(StartError::Config {
                name: cfg.name.clone(),
                message: format!("command {program:?} not found"),
            });
        }
        let (up, mut seen_up) = tokio::sync::watch::channel(0);
        let this = Arc::new(StdioUpstream {
            seen: RwLock::new((
                ServerInfo {
                    name: cfg.name.clone(),
                    version: "unknown".into(),
                    title: None,
                },
                json!({"tools": {}}),
            )),
            cfg,
            running: RwLock::new(None),
            up,
            stop: CancellationToken::new(),
            next_id: AtomicU64::new(1),
            lists,
        });
        let weak = Arc::downgrade(&this);
        let stop = this.stop.clone();
        tokio::spawn(async move { supervise(weak, stop).await });
        let wait = Duration::from_millis(this.cfg.request_timeout_ms);
        if tokio::time::timeout(wait, seen_up.changed()).await.is_err() {
            tracing::warn!(upstream = %this.cfg.name, "stdio upstream not initialized yet; serving anyway");
        }
        Ok(this)
    }

    fn error(&self, message: impl std::fmt::Display) -> ErrorObject {
        ErrorObject::new(
            code::INTERNAL_ERROR,
            format!("upstream {}: {message}", self.cfg.name),
        )
        .with_data(json!({"upstream": self.cfg.name}))
    }

    fn current(&self) -> Option<Arc<Running>> {
        self.running
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Sends `request` to the running process; the receiver gets its progress and response.
    async fn send(
        &self,
        running: &Running,
        method: &str,
        params: Option<Map<String, Value>>,
        progress: Option<Value>,
    ) -> Result<(Id, mpsc::Receiver<Message>), ErrorObject> {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let id = Id::String(format!("sy-{n}"));
        let (tx, rx) = mpsc::channel(PER_REQUEST);
        running
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id.clone(), (progress, tx));
        let line = Message::Request(Request::new(id.clone(), method, params)).to_json();
        if let Err(e) = write_line(running, &line).await {
            forget(running, &id);
            return Err(self.error(format!("could not write to the process: {e}")));
        }
        Ok((id, rx))
    }
}

fn forget(running: &Running, id: &Id) {
    running
        .pending
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .remove(id);
}

async fn write_line(running: &Running, line: &str) -> std::io::Result<()> {
    let mut stdin = running.stdin.lock().await;
    stdin.write_all(line.as_bytes()).await?;
    stdin.write_all(b"\n").await?;
    stdin.flush().await
}

/// `program` as found on `PATH` (or as given, when it names a path).
fn which(program: &str) -> Option<std::path::PathBuf> {
    let p = std::path::Path::new(program);
    if p.components().count() > 1 {
        return p.exists().then(|| p.to_path_buf());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|c| c.is_file())
    })
}

/// Runs the process, reads it, and starts it again with backoff when it exits.
async fn supervise(this: std::sync::Weak<StdioUpstream>, stop: CancellationToken) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let Some(up) = this.upgrade() else { return };
        let started = tokio::time::Instant::now();
        let outcome = run_once(&up, &stop).await;
        let name = up.cfg.name.clone();
        *up.running
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        drop(up);
        if stop.is_cancelled() {
            return;
        }
        if started.elapsed() >= HEALTHY_AFTER {
            backoff = FIRST_BACKOFF;
        }
        tracing::warn!(upstream = %name, ?outcome, ?backoff, "stdio upstream exited; restarting");
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One life of the process: spawn, initialize, route its output until it ends.
async fn run_once(up: &StdioUpstream, stop: &CancellationToken) -> Result<(), String> {
    let mut cmd = tokio::process::Command::new(&up.cfg.command[0]);
    cmd.args(&up.cfg.command[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| format!("spawn: {e}"))?;
    let stdin = child.stdin.take().ok_or("no stdin")?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let running = Arc::new(Running {
        stdin: tokio::sync::Mutex::new(stdin),
        pending: Mutex::new(HashMap::new()),
        pid: child.id(),
    });
    let mut lines = BufReader::new(stdout).lines();
    // initialize, answered before anything else is routed.
    let init = json!({
        "protocolVersion": Revision::LATEST_SESSION.as_str(),
        "capabilities": {},
        "clientInfo": {"name": "switchyard", "version": env!("CARGO_PKG_VERSION")},
    });
    let init_id = Id::String("sy-init".into());
    let line = Message::Request(Request::new(
        init_id.clone(),
        "initialize",
        init.as_object().cloned(),
    ))
    .to_json();
    write_line(&running, &line)
        .await
        .map_err(|e| format!("write: {e}"))?;
    let idle = Duration::from_millis(up.cfg.request_timeout_ms);
    let result = loop {
        let next = tokio::time::timeout(idle, lines.next_line())
            .await
            .map_err(|_| "no initialize answer in time".to_owned())?
            .map_err(|e| format!("read: {e}"))?
            .ok_or("exited before answering initialize")?;
        if let Ok(Message::Response(Response {
            id: Some(id),
            outcome,
        })) = parse(&next)
            && id == init_id
        {
            break outcome.map_err(|e| format!("initialize refused: {}", e.message))?;
        }
    };
    {
        let mut seen = up
            .seen
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(c) = result.get("capabilities").filter(|c| c.is_object()) {
            seen.1 = c.clone();
        }
        if let Some(i) = result.get("serverInfo") {
            seen.0 = ServerInfo {
                name: i
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or(&up.cfg.name)
                    .to_owned(),
                version: i
                    .get("version")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown")
                    .to_owned(),
                title: None,
            };
        }
    }
    let initialized = Message::Notification(Notification::new("notifications/initialized", None));
    write_line(&running, &initialized.to_json())
        .await
        .map_err(|e| format!("write: {e}"))?;
    *up.running
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(running.clone());
    up.up.send_modify(|n| *n += 1);
    tracing::info!(upstream = %up.cfg.name, pid = ?running.pid, "stdio upstream ready");
    let outcome = loop {
        let next = tokio::select! {
            _ = stop.cancelled() => break Ok(()),
            next = lines.next_line() => next,
        };
        let line = match next {
            Ok(Some(l)) => l,
            Ok(None) => break Err("its stdout closed".to_owned()),
            Err(e) => break Err(format!("read: {e}")),
        };
        if line.len() > MAX_LINE {
            continue;
        }
        match parse(&line) {
            Ok(Message::Response(r)) => {
                let Some(id) = &r.id else { continue };
                let sender = running
                    .pending
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .remove(id);
                if let Some((_, tx)) = sender {
                    let _ = tx.send(Message::Response(r)).await;
                }
            }
            Ok(Message::Notification(n)) => {
                let token = n
                    .params
                    .as_ref()
                    .and_then(|p| p.get("progressToken"))
                    .cloned();
                let target = token.and_then(|t| {
                    running
                        .pending
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .values()
                        .find(|(p, _)| p.as_ref() == Some(&t))
                        .map(|(_, tx)| tx.clone())
                });
                match target {
                    Some(tx) => {
                        let _ = tx.send(Message::Notification(n)).await;
                    }
                    None => {
                        tracing::debug!(upstream = %up.cfg.name, method = %n.method, "notification from a stdio upstream not tied to a request")
                    }
                }
            }
            Ok(Message::Request(r)) => {
                let answer = if r.method == "ping" {
                    Ok(json!({}))
                } else {
                    Err(ErrorObject::new(
                        code::METHOD_NOT_FOUND,
                        format!(
                            "{} is not available to a stdio upstream shared by many clients",
                            r.method
                        ),
                    ))
                };
                let line = Message::Response(Response {
                    id: Some(r.id),
                    outcome: answer,
                })
                .to_json();
                let _ = write_line(&running, &line).await;
            }
            Err(_) => {
                tracing::debug!(upstream = %up.cfg.name, "a line from the stdio upstream is not JSON-RPC");
            }
        }
    };
    // Every request still waiting learns that the process is gone (their senders drop).
    running
        .pending
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clear();
    let _ = child.kill().await;
    outcome
}

fn parse(line: &str) -> Result<Message, ()> {
    let v: Value = serde_json::from_str(line).map_err(|_| ())?;
    Message::from_value(v).map_err(|_| ())
}

#[async_trait]
impl Backend for StdioUpstream {
    fn info(&self) -> ServerInfo {
        self.seen
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0
            .clone()
    }

    fn capabilities(&self) -> Value {
        self.seen
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .1
            .clone()
    }

    async fn handle(&self, request: Request, ctx: Context) -> Result<Value, ErrorObject> {
        let Some(running) = self.current() else {
            return Err(self.error("the process is not running (restarting)"));
        };
        let (id, mut rx) = self
            .send(
                &running,
                &request.method,
                request.params.clone(),
                ctx.progress_token.clone(),
            )
            .await?;
        let idle = Duration::from_millis(self.cfg.request_timeout_ms);
        loop {
            let next = tokio::select! {
                biased;
                _ = ctx.cancel.cancelled() => {
                    forget(&running, &id);
                    let n = json!({"requestId": id, "reason": "cancelled by the client"});
                    let line = Message::Notification(Notification::new(
                        "notifications/cancelled",
                        n.as_object().cloned(),
                    ))
                    .to_json();
                    let _ = write_line(&running, &line).await;
                    return Err(self.error("request cancelled"));
                }
                next = tokio::time::timeout(idle, rx.recv()) => next,
            };
            match next {
                Err(_) => {
                    forget(&running, &id);
                    return Err(self.error(format!("no answer within {idle:?}")));
                }
                Ok(None) => return Err(self.error("the process exited before answering")),
                Ok(Some(Message::Response(r))) => return r.outcome,
                Ok(Some(Message::Notification(n))) => {
                    crate::relay::relay(&ctx, n, &self.lists).await
                }
                Ok(Some(Message::Request(_))) => {}
            }
        }
    }
}

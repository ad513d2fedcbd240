//! What every client task of a run shares: the history, the addresses, counters, and the
//! requests they all make (with their answers recorded).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use switchyard_tests::ADMIN_TOKEN;
use tokio::time::Instant;

use crate::history::{ConnKind, History, Rec};
use crate::wire::{self, Conn};

/// The protocol revision of the Streamable HTTP sessions.
pub(crate) const PROTOCOL: &str = "2025-11-25";

/// Where a request goes: the balancer, or one node directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Nginx,
    Node(usize),
}

/// Shared by every task of one run.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub(crate) hist: History,
    pub(crate) http: reqwest::Client,
    pub(crate) nginx: SocketAddr,
    pub(crate) nodes: Vec<SocketAddr>,
    counter: Arc<AtomicU64>,
}

impl Ctx {
    pub(crate) fn new(hist: History, nginx: SocketAddr, nodes: Vec<SocketAddr>) -> Ctx {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(0)
            .build()
            .expect("an HTTP client");
        Ctx {
            hist,
            http,
            nginx,
            nodes,
            counter: Arc::default(),
        }
    }

    /// A number unique in the run (connections, calls, markers, logical streams).
    pub(crate) fn next(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub(crate) fn addr(&self, t: Target) -> SocketAddr {
        match t {
            Target::Nginx => self.nginx,
            Target::Node(i) => self.nodes[i],
        }
    }

    pub(crate) fn name(t: Target) -> String {
        match t {
            Target::Nginx => "nginx".to_owned(),
            Target::Node(i) => format!("node-{i}"),
        }
    }

    /// A GET of `/mcp` (`leid`: resume) or `/sse` (`kind` Legacy), recorded as an `Open`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn open(
        &self,
        session: &str,
        kind: ConnKind,
        logical: u64,
        target: Target,
        leid: Option<&str>,
    ) -> (u64, anyhow::Result<Conn>) {
        let conn = self.next();
        let sent = self.hist.now();
        let mut headers = vec![("Accept", "text/event-stream")];
        let path = if kind == ConnKind::Legacy {
            "/sse"
        } else {
            headers.push(("Mcp-Session-Id", session));
            headers.push(("MCP-Protocol-Version", PROTOCOL));
            "/mcp"
        };
        if let Some(id) = leid {
            headers.push(("Last-Event-ID", id));
        }
        let result = wire::request(self.addr(target), "GET", path, &headers, None).await;
        let result = match result {
            Ok(mut c) => {
                let body = if c.status == 200 {
                    String::new()
                } else {
                    c.text(Instant::now() + Duration::from_secs(2))
                        .await
                        .unwrap_or_default()
                };
                self.record_open(conn, session, kind, logical, target, leid, sent, &c, body);
                Ok(c)
            }
            Err(e) => {
                self.hist.add(Rec::End {
                    conn,
                    why: format!("GET {path} on {}: {e:#}", Ctx::name(target)),
                });
                Err(e)
            }
        };
        (conn, result)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record_open(
        &self,
        conn: u64,
        session: &str,
        kind: ConnKind,
        logical: u64,
        target: Target,
        leid: Option<&str>,
        sent: u64,
        c: &Conn,
        body: String,
    ) {
        self.hist.add(Rec::Open {
            conn,
            session: session.to_owned(),
            kind,
            logical,
            target: Ctx::name(target),
            node: c.header("x-switchyard-node").unwrap_or("?").to_owned(),
            status: c.status,
            leid: leid.map(str::to_owned),
            sent,
            body,
        });
    }

    /// `initialize` + `notifications/initialized` through the balancer: the session id.
    pub(crate) async fn initialize(&self) -> anyhow::Result<String> {
        let body = json!({
            "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {
                "protocolVersion": PROTOCOL,
                "capabilities": {},
                "clientInfo": {"name": "checker", "version": "1"},
            },
        });
        let r = self
            .http
            .post(format!("http://{}/mcp", self.nginx))
            .header("Accept", "application/json, text/event-stream")
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await?;
        anyhow::ensure!(r.status() == 200, "initialize answered {}", r.status());
        let session = r
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| anyhow::anyhow!("no Mcp-Session-Id"))?
            .to_owned();
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let status = self.post_json(&session, &note).await;
        anyhow::ensure!(status == 202, "notifications/initialized answered {status}");
        Ok(session)
    }

    /// A POST to `/mcp` through the balancer answered without a stream; its status (0: no
    /// answer), recorded as the session's activity.
    pub(crate) async fn post_json(&self, session: &str, body: &Value) -> u16 {
        let status = match self
            .http
            .post(format!("http://{}/mcp", self.nginx))
            .header("Accept", "application/json, text/event-stream")
            .header("Content-Type", "application/json")
            .header("Mcp-Session-Id", session)
            .header("MCP-Protocol-Version", PROTOCOL)
            .body(body.to_string())
            .send()
            .await
        {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        };
        let what = body["method"].as_str().unwrap_or("?").to_owned();
        self.hist.add(Rec::Request {
            session: session.to_owned(),
            what,
            status,
        });
        status
    }

    /// `DELETE /mcp`; its status.
    pub(crate) async fn delete(&self, session: &str) -> u16 {
        let status = match self
            .http
            .delete(format!("http://{}/mcp", self.nginx))
            .header("Mcp-Session-Id", session)
            .header("MCP-Protocol-Version", PROTOCOL)
            .send()
            .await
        {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        };
        self.hist.add(Rec::Request {
            session: session.to_owned(),
            what: "DELETE".to_owned(),
            status,
        });
        // Whatever the answer, the client has given the session up (it stops following it).
        self.hist.add(Rec::Deleted {
            session: session.to_owned(),
        });
        status
    }

    /// An admin POST of `body` to `path` on `target`: status (0: no answer) and the body.
    pub(crate) async fn admin(&self, target: Target, path: &str, body: &Value) -> (u16, Value) {
        let url = format!("http://{}{path}", self.addr(target));
        match self
            .http
            .post(url)
            .bearer_auth(ADMIN_TOKEN)
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await
        {
            Ok(r) => {
                let status = r.status().as_u16();
                let body = r.json().await.unwrap_or(Value::Null);
                (status, body)
            }
            Err(_) => (0, Value::Null),
        }
    }
}

/// The marked notification every push, broadcast and deliver carries.
pub(crate) fn marked(marker: &str) -> Value {
    json!({
        "jsonrpc": "2.0", "method": "notifications/message",
        "params": {"level": "info", "data": {"marker": marker}},
    })
}

/// The marker in an event's data, if it is a marked notification.
pub(crate) fn marker_of(data: &str) -> Option<String> {
    let v: Value = serde_json::from_str(data).ok()?;
    v["params"]["data"]["marker"].as_str().map(str::to_owned)
}

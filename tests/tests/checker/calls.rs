//! `tools/call` as a client makes it: POST, read the JSON answer or the SSE stream, and when
//! the stream breaks before the answer, resume it with `Last-Event-ID` on another node until
//! the answer comes, the client is told (404, 410), or the deadline passes. HTTP+SSE calls
//! are answered on the session's `/sse` stream.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::ctx::{Ctx, PROTOCOL, Target};
use crate::history::{ConnKind, Rec};
use crate::wire::{self, Next};

/// How long a call may take to be answered, from its POST: the report's ~0.3 s, the
/// producer lease (1.5 s), a node restart and slack.
pub(crate) const CALL_DEADLINE: Duration = Duration::from_secs(12);

/// How long a call may stay unanswered once its stream broke (its node may have died): the
/// producer lease (1.5 s, `SWITCHYARD__SESSION__PRODUCER_LEASE_MS`) and 4 s of slack for
/// the resumption.
pub(crate) const AFTER_BREAK: Duration = Duration::from_millis(1_500 + 4_000);

/// A tool and its arguments.
#[derive(Debug, Clone)]
pub(crate) struct Tool {
    pub(crate) name: &'static str,
    pub(crate) args: Value,
}

impl Tool {
    pub(crate) fn report() -> Tool {
        Tool {
            name: "generate_report",
            args: json!({}),
        }
    }

    pub(crate) fn cheap() -> Tool {
        Tool {
            name: "get_client",
            args: json!({"email": "ada@example.com"}),
        }
    }

    /// A booking at a time no other booking of the run has (`n` unique).
    pub(crate) fn booking(n: u64) -> Tool {
        let (day, minute) = (1 + (n / 1440) % 28, n % 1440);
        Tool {
            name: "create_booking",
            args: json!({
                "client_email": "grace@example.com",
                "starts_at": format!("2031-03-{day:02}T{:02}:{:02}:00Z", minute / 60, minute % 60),
                "service": "Checker",
            }),
        }
    }

    /// The request; with a progress token, so the report's progress makes its answer an SSE
    /// stream.
    fn body(&self, rpc_id: u64) -> Value {
        json!({
            "jsonrpc": "2.0", "id": rpc_id, "method": "tools/call",
            "params": {
                "name": self.name,
                "arguments": self.args,
                "_meta": {"progressToken": rpc_id},
            },
        })
    }
}

/// Whether `data` is the final response to `rpc_id`; `Some(ok)` if so.
pub(crate) fn answer_to(data: &str, rpc_id: u64) -> Option<bool> {
    let v: Value = serde_json::from_str(data).ok()?;
    if v["id"].as_u64() != Some(rpc_id) {
        return None;
    }
    if v.get("error").is_some() {
        return Some(false);
    }
    let r = v.get("result")?;
    Some(!r["isError"].as_bool().unwrap_or(false))
}

/// One Streamable HTTP call, start to end. `first` learns the node producing the SSE answer
/// once its first event arrived (to kill that node mid-request).
pub(crate) async fn call(
    ctx: Ctx,
    session: String,
    target: Target,
    tool: Tool,
    first: Option<oneshot::Sender<String>>,
) {
    let call = ctx.next();
    let rpc_id = ctx.next();
    ctx.hist.add(Rec::Call {
        call,
        session: session.clone(),
        rpc_id,
        tool: tool.name.to_owned(),
        legacy: false,
    });
    let mut end = Instant::now() + CALL_DEADLINE;
    let mut first = first;
    let mut answers = 0;
    let mut ok = false;
    let mut told = None;
    let body = tool.body(rpc_id).to_string();
    let headers = [
        ("Accept", "application/json, text/event-stream"),
        ("Mcp-Session-Id", session.as_str()),
        ("MCP-Protocol-Version", PROTOCOL),
    ];
    let conn = ctx.next();
    let sent = ctx.hist.now();
    let mut stream =
        match wire::request(ctx.addr(target), "POST", "/mcp", &headers, Some(&body)).await {
            Ok(mut c) => {
                let text = if c.is_sse() {
                    String::new()
                } else {
                    c.text(end).await.unwrap_or_default()
                };
                ctx.record_open(
                    conn,
                    &session,
                    ConnKind::Post,
                    call,
                    target,
                    None,
                    sent,
                    &c,
                    text.clone(),
                );
                if c.status != 200 {
                    told = Some(format!("POST answered {}", c.status));
                    None
                } else if !c.is_sse() {
                    ctx.hist.add(Rec::Event {
                        conn,
                        session: session.clone(),
                        id: None,
                        data: text.clone(),
                        drained: false,
                    });
                    if let Some(o) = answer_to(&text, rpc_id) {
                        answers += 1;
                        ok = o;
                    }
                    None
                } else {
                    if let Some(tx) = first.take() {
                        let _ = tx.send(c.header("x-switchyard-node").unwrap_or("?").to_owned());
                    }
                    Some((conn, c))
                }
            }
            Err(e) => {
                told = Some(format!("POST failed: {e:#}"));
                None
            }
        };
    let mut last_id: Option<String> = None;
    let mut attempt = call as usize;
    while let Some((conn, mut c)) = stream.take() {
        // Read this connection to its end: a second answer would be a duplicate.
        loop {
            let until = if answers > 0 {
                Instant::now() + Duration::from_secs(2)
            } else {
                end
            };
            match c.next(until).await {
                Ok(Next::Event(e)) => {
                    if let Some(id) = &e.id {
                        last_id = Some(id.clone());
                    }
                    if let Some(o) = answer_to(&e.data, rpc_id) {
                        answers += 1;
                        ok = o;
                    }
                    ctx.hist.add(Rec::Event {
                        conn,
                        session: session.clone(),
                        id: e.id,
                        data: e.data,
                        drained: false,
                    });
                }
                Ok(Next::End) => {
                    ctx.hist.add(Rec::End {
                        conn,
                        why: "ended".to_owned(),
                    });
                    break;
                }
                Err(e) => {
                    ctx.hist.add(Rec::End {
                        conn,
                        why: format!("{e:#}"),
                    });
                    break;
                }
            }
        }
        if answers > 0 || Instant::now() >= end {
            break;
        }
        let Some(leid) = last_id.clone() else {
            told = Some("the stream broke before any event id".to_owned());
            break;
        };
        end = end.min(Instant::now() + AFTER_BREAK);
        // Resume on the nodes in turn (and the balancer) until one answers 200.
        loop {
            attempt += 1;
            let t = match attempt % 4 {
                3 => Target::Nginx,
                i => Target::Node(i),
            };
            let (conn, r) = ctx
                .open(&session, ConnKind::ResumePost, call, t, Some(&leid))
                .await;
            match r {
                Ok(c) if c.status == 200 => {
                    stream = Some((conn, c));
                    break;
                }
                Ok(c) if c.status == 404 || c.status == 410 => {
                    told = Some(format!("resume answered {}", c.status));
                    break;
                }
                _ => {}
            }
            if Instant::now() >= end {
                break;
            }
            // Pacing between attempts while nodes restart.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    ctx.hist.add(Rec::CallDone {
        call,
        answers,
        told,
        booking: tool.name == "create_booking",
        ok,
    });
}

/// One HTTP+SSE call: `POST /messages`; the answer is looked for on the session's `/sse`
/// stream in the history (`stream_conn`) until the deadline or the stream's end.
pub(crate) async fn legacy_call(
    ctx: Ctx,
    session: String,
    stream_conn: u64,
    target: Target,
    tool: Tool,
) {
    let call = ctx.next();
    let rpc_id = ctx.next();
    ctx.hist.add(Rec::Call {
        call,
        session: session.clone(),
        rpc_id,
        tool: tool.name.to_owned(),
        legacy: true,
    });
    let url = format!("http://{}/messages?sessionId={session}", ctx.addr(target));
    let status = match ctx
        .http
        .post(url)
        .header("Content-Type", "application/json")
        .body(tool.body(rpc_id).to_string())
        .send()
        .await
    {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    };
    ctx.hist.add(Rec::Request {
        session: session.clone(),
        what: "POST /messages tools/call".to_owned(),
        status,
    });
    let end = Instant::now() + CALL_DEADLINE;
    let (mut answers, mut ok, mut told) = (0, false, None);
    if status != 202 {
        told = Some(format!("POST /messages answered {status}"));
    } else {
        loop {
            let (found, ended) = scan(&ctx, stream_conn, rpc_id);
            if let Some((n, o)) = found {
                ok = o;
                // A little longer, to see a duplicate.
                tokio::time::sleep(Duration::from_millis(300)).await;
                answers = scan(&ctx, stream_conn, rpc_id).0.map_or(n, |(n, _)| n);
                break;
            }
            if ended {
                told = Some("the /sse stream ended".to_owned());
                break;
            }
            if Instant::now() >= end {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    ctx.hist.add(Rec::CallDone {
        call,
        answers,
        told,
        booking: tool.name == "create_booking",
        ok,
    });
}

/// Answers to `rpc_id` on connection `conn` so far (count, last ok), and whether it ended.
fn scan(ctx: &Ctx, conn: u64, rpc_id: u64) -> (Option<(usize, bool)>, bool) {
    let mut n = 0;
    let mut ok = false;
    let mut ended = false;
    for e in ctx.hist.snapshot() {
        match e.rec {
            Rec::Event { conn: c, data, .. } if c == conn => {
                if let Some(o) = answer_to(&data, rpc_id) {
                    n += 1;
                    ok = o;
                }
            }
            Rec::End { conn: c, .. } if c == conn => ended = true,
            _ => {}
        }
    }
    ((n > 0).then_some((n, ok)), ended)
}

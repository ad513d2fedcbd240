//! `floor`: the fastest an actix-web server answers an MCP-shaped request — the body parsed
//! as JSON-RPC and a `tools/call`-shaped result written back, with no sessions, no validation
//! of headers and no MCP machinery. It bounds what any actix-web MCP server can reach on the
//! same core.
//!
//! `POST /mcp`: `initialize` gets a minimal result, `tools/call` echoes
//! `params.arguments.text`, other requests get `{}`, notifications get 202. `GET /mcp`: an
//! actix-web-lab `Sse` fed by a tokio mpsc channel whose sender is kept in a shared list —
//! the naive framework floor for an idle stream. Accepted sockets get TCP_NODELAY, as any
//! latency-minded server sets.

use std::io::Write;
use std::net::TcpListener;
use std::sync::Mutex;

use actix_web::{App, HttpResponse, HttpServer, web};
use actix_web_lab::sse::{self, Sse};
use clap::Args;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// Arguments of `floor`.
#[derive(Debug, Args)]
pub(crate) struct FloorArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: String,
    /// actix-web worker threads.
    #[arg(long, default_value_t = 1)]
    workers: usize,
}

#[derive(Deserialize)]
struct Rpc {
    #[serde(default)]
    id: Option<Value>,
    method: String,
    #[serde(default)]
    params: Option<Value>,
}

/// The answer to one JSON-RPC body, or `None` for a notification.
pub(crate) fn answer(body: &[u8]) -> Result<Option<Value>, serde_json::Error> {
    let rpc: Rpc = serde_json::from_slice(body)?;
    let Some(id) = rpc.id else {
        return Ok(None);
    };
    let params = rpc.params.unwrap_or(Value::Null);
    let result = match rpc.method.as_str() {
        "initialize" => json!({
            "protocolVersion": params.get("protocolVersion").cloned().unwrap_or(json!("2025-11-25")),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "switchyard-bench-floor", "version": env!("CARGO_PKG_VERSION")},
        }),
        "tools/call" => {
            let text = params
                .pointer("/arguments/text")
                .and_then(Value::as_str)
                .unwrap_or("");
            json!({"content": [{"type": "text", "text": text}]})
        }
        _ => json!({}),
    };
    Ok(Some(json!({"jsonrpc": "2.0", "id": id, "result": result})))
}

async fn post(body: web::Bytes) -> HttpResponse {
    match answer(&body) {
        Ok(Some(v)) => HttpResponse::Ok().json(v),
        Ok(None) => HttpResponse::Accepted().finish(),
        Err(e) => HttpResponse::BadRequest().json(json!({
            "jsonrpc": "2.0", "id": null,
            "error": {"code": -32700, "message": format!("Parse error: {e}")},
        })),
    }
}

type Senders = Mutex<Vec<mpsc::Sender<sse::Event>>>;

async fn get(senders: web::Data<Senders>) -> impl actix_web::Responder {
    let (tx, rx) = mpsc::channel(8);
    if let Ok(mut all) = senders.lock() {
        all.retain(|s| !s.is_closed());
        all.push(tx);
    }
    Sse::from_infallible_receiver(rx)
}

/// Runs the floor server until interrupted.
pub(crate) fn run(args: FloorArgs) -> anyhow::Result<()> {
    let listener = TcpListener::bind(&args.bind)?;
    announce(listener.local_addr()?)?;
    actix_web::rt::System::new().block_on(async move {
        let senders = web::Data::new(Senders::default());
        HttpServer::new(move || {
            App::new()
                .app_data(senders.clone())
                .route("/mcp", web::post().to(post))
                .route("/mcp", web::get().to(get))
        })
        .workers(args.workers.max(1))
        .tcp_nodelay(true)
        .listen(listener)?
        .run()
        .await
    })?;
    Ok(())
}

/// Prints `listening on http://ADDR` (what scripts wait for) and flushes it. Here rather
/// than in `main.rs` so that `bench/peers/floor`, which includes this file, needs nothing else.
fn announce(addr: std::net::SocketAddr) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on http://{addr}")?;
    stdout.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_like_a_tool_call() {
        let call = br#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}"#;
        let v = answer(call).unwrap().unwrap();
        assert_eq!(v["id"], 9);
        assert_eq!(v["result"]["content"][0]["text"], "hello");
        let init = br#"{"jsonrpc":"2.0","id":"a","method":"initialize","params":{"protocolVersion":"2025-06-18"}}"#;
        assert_eq!(
            answer(init).unwrap().unwrap()["result"]["protocolVersion"],
            "2025-06-18"
        );
        let note = br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        assert_eq!(answer(note).unwrap(), None);
        assert!(answer(b"{").is_err());
    }
}

//! One HTTP/1.1 keep-alive connection (hyper's client connection, TCP_NODELAY) and the MCP
//! exchanges the subcommands make over it: `initialize`, notifications, requests answered
//! with JSON or with an SSE stream, and GET streams.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{ACCEPT, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpStream;

use crate::answer::{Failure, response_for, result_of};
use crate::sse::SseDecoder;

/// The revision `initialize` asks for; the server's answer decides.
pub(crate) const SESSION_VERSION: &str = "2025-11-25";
/// The stateless revision.
pub(crate) const STATELESS_VERSION: &str = "2026-07-28";
const ACCEPT_BOTH: &str = "application/json, text/event-stream";

/// Where requests go: `http://host:port/path`.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) host: String,
    pub(crate) port: u16,
    /// Path and query, e.g. `/mcp`.
    pub(crate) path: String,
    authority: HeaderValue,
}

impl Target {
    /// Parses an `http://` URL (no TLS: the benchmark runs on loopback).
    pub(crate) fn parse(url: &str) -> anyhow::Result<Self> {
        let uri: Uri = url.parse()?;
        anyhow::ensure!(
            uri.scheme_str() == Some("http"),
            "only http:// URLs are supported: {url}"
        );
        let auth = uri
            .authority()
            .ok_or_else(|| anyhow::anyhow!("no host in {url}"))?;
        let path = uri
            .path_and_query()
            .map(|p| p.as_str())
            .filter(|p| !p.is_empty())
            .unwrap_or("/")
            .to_owned();
        Ok(Self {
            host: auth.host().trim_matches(['[', ']']).to_owned(),
            port: auth.port_u16().unwrap_or(80),
            path,
            authority: HeaderValue::from_str(auth.as_str())?,
        })
    }
}

/// The session headers of legacy (2025-xx) exchanges, or the stateless revision's.
#[derive(Debug, Clone, Default)]
pub(crate) struct SessionHeaders {
    /// `Mcp-Session-Id`, when the server gave one.
    pub(crate) id: Option<HeaderValue>,
    /// `MCP-Protocol-Version`, once negotiated.
    pub(crate) version: Option<HeaderValue>,
}

/// An answer: the JSON-RPC response and when it arrived (before any rest of its stream was
/// drained).
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) message: Value,
    pub(crate) at: Instant,
    pub(crate) session_id: Option<HeaderValue>,
}

/// One HTTP/1.1 connection.
pub(crate) struct Conn {
    sender: SendRequest<Full<Bytes>>,
    target: Target,
}

impl Conn {
    /// Connects and performs the (trivial) HTTP/1.1 handshake; the connection is driven by a
    /// spawned task.
    pub(crate) async fn open(target: &Target) -> Result<Self, Failure> {
        let tcp = TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|e| Failure::Connect(e.to_string()))?;
        tcp.set_nodelay(true)
            .map_err(|e| Failure::Connect(e.to_string()))?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .map_err(|e| Failure::Connect(e.to_string()))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Self {
            sender,
            target: target.clone(),
        })
    }

    /// A request builder for `method path` with Host set.
    pub(crate) fn request(&self, method: Method, path: &str) -> hyper::http::request::Builder {
        Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, self.target.authority.clone())
    }

    /// Sends a request and waits for the response head.
    pub(crate) async fn send(
        &mut self,
        req: Request<Full<Bytes>>,
    ) -> Result<Response<Incoming>, Failure> {
        self.sender
            .ready()
            .await
            .map_err(|e| Failure::Transport(e.to_string()))?;
        self.sender
            .send_request(req)
            .await
            .map_err(|e| Failure::Transport(e.to_string()))
    }

    /// POSTs a JSON-RPC message to the MCP endpoint with the session headers.
    pub(crate) async fn post_mcp(
        &mut self,
        session: &SessionHeaders,
        extra: &[(&'static str, &str)],
        body: Bytes,
    ) -> Result<Response<Incoming>, Failure> {
        let mut b = self
            .request(Method::POST, &self.target.path)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, ACCEPT_BOTH);
        if let Some(id) = &session.id {
            b = b.header("mcp-session-id", id.clone());
        }
        if let Some(v) = &session.version {
            b = b.header("mcp-protocol-version", v.clone());
        }
        for (name, value) in extra {
            b = b.header(*name, *value);
        }
        let req = b
            .body(Full::new(body))
            .map_err(|e| Failure::BadBody(e.to_string()))?;
        self.send(req).await
    }

    /// POSTs a request and reads its answer (JSON or SSE). Non-success statuses and bodies
    /// without the answer are failures; the connection stays usable unless the failure
    /// [breaks it](Failure::breaks_connection).
    pub(crate) async fn call(
        &mut self,
        session: &SessionHeaders,
        extra: &[(&'static str, &str)],
        id: u64,
        body: Bytes,
        deadline: Duration,
    ) -> Result<Answer, Failure> {
        let exchange = async {
            let resp = self.post_mcp(session, extra, body).await?;
            read_answer(resp, id).await
        };
        tokio::time::timeout(deadline, exchange)
            .await
            .map_err(|_| Failure::Timeout)?
    }

    /// POSTs a notification; the server must accept it (2xx) with no answer expected.
    pub(crate) async fn notify(
        &mut self,
        session: &SessionHeaders,
        body: Bytes,
        deadline: Duration,
    ) -> Result<(), Failure> {
        let exchange = async {
            let resp = self.post_mcp(session, &[], body).await?;
            let status = resp.status();
            drain(resp.into_body()).await?;
            Ok::<_, Failure>(status)
        };
        let status = tokio::time::timeout(deadline, exchange)
            .await
            .map_err(|_| Failure::Timeout)??;
        if status.is_success() {
            Ok(())
        } else {
            Err(Failure::Status(status.as_u16()))
        }
    }

    /// `initialize` + `notifications/initialized`: opens a session. Servers that give no
    /// `Mcp-Session-Id` (the floor) are fine: the session headers then carry only the version.
    pub(crate) async fn open_session(
        &mut self,
        deadline: Duration,
    ) -> Result<SessionHeaders, Failure> {
        let init = json!({
            "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {
                "protocolVersion": SESSION_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "switchyard-bench", "version": env!("CARGO_PKG_VERSION")},
            },
        });
        let answer = self
            .call(
                &SessionHeaders::default(),
                &[],
                0,
                Bytes::from(init.to_string()),
                deadline,
            )
            .await?;
        let result = result_of(&answer.message)?;
        let version = result
            .get("protocolVersion")
            .and_then(Value::as_str)
            .unwrap_or(SESSION_VERSION);
        let session = SessionHeaders {
            id: answer.session_id,
            version: HeaderValue::from_str(version).ok(),
        };
        let initialized = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        self.notify(
            &session,
            Bytes::from_static(initialized.as_bytes()),
            deadline,
        )
        .await?;
        Ok(session)
    }

    /// Opens the session's GET stream and returns its body once the server has answered 200
    /// with an event stream.
    pub(crate) async fn open_get_stream(
        &mut self,
        session: &SessionHeaders,
    ) -> Result<Incoming, Failure> {
        let mut b = self
            .request(Method::GET, &self.target.path)
            .header(ACCEPT, "text/event-stream");
        if let Some(id) = &session.id {
            b = b.header("mcp-session-id", id.clone());
        }
        if let Some(v) = &session.version {
            b = b.header("mcp-protocol-version", v.clone());
        }
        let req = b
            .body(Full::new(Bytes::new()))
            .map_err(|e| Failure::BadBody(e.to_string()))?;
        let resp = self.send(req).await?;
        if resp.status() != StatusCode::OK {
            return Err(Failure::Status(resp.status().as_u16()));
        }
        if !is_event_stream(&resp) {
            return Err(Failure::BadBody(
                "the GET answer is not an event stream".into(),
            ));
        }
        Ok(resp.into_body())
    }
}

fn content_type(resp: &Response<Incoming>) -> &str {
    resp.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn is_event_stream(resp: &Response<Incoming>) -> bool {
    content_type(resp).starts_with("text/event-stream")
}

/// Reads a body to its end, discarding it.
pub(crate) async fn drain(mut body: Incoming) -> Result<(), Failure> {
    while let Some(frame) = body.frame().await {
        frame.map_err(|e| Failure::Transport(e.to_string()))?;
    }
    Ok(())
}

/// Reads the answer to request `id` from a response: a JSON body, or the SSE event holding
/// it (the rest of the stream is then drained so the connection can carry the next request).
pub(crate) async fn read_answer(resp: Response<Incoming>, id: u64) -> Result<Answer, Failure> {
    let status = resp.status();
    let session_id = resp.headers().get("mcp-session-id").cloned();
    let sse = is_event_stream(&resp);
    let mut body = resp.into_body();
    if !status.is_success() {
        drain(body).await?;
        return Err(Failure::Status(status.as_u16()));
    }
    if !sse {
        let bytes = body
            .collect()
            .await
            .map_err(|e| Failure::Transport(e.to_string()))?
            .to_bytes();
        let at = Instant::now();
        return match response_for(&bytes, id) {
            Some(Ok(message)) => Ok(Answer {
                message,
                at,
                session_id,
            }),
            Some(Err(e)) => Err(e),
            None if bytes.is_empty() => Err(Failure::NoAnswer),
            None => Err(Failure::BadBody(
                "a JSON body that is not the answer".into(),
            )),
        };
    }
    let mut decoder = SseDecoder::default();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Failure::Transport(e.to_string()))?;
        let Some(data) = frame.data_ref() else {
            continue;
        };
        decoder.push(data);
        while let Some(event) = decoder.next_event() {
            match response_for(&event, id) {
                Some(Ok(message)) => {
                    let at = Instant::now();
                    drain(body).await?;
                    return Ok(Answer {
                        message,
                        at,
                        session_id,
                    });
                }
                Some(Err(e)) => return Err(e),
                None => {}
            }
        }
    }
    Err(Failure::NoAnswer)
}

#[cfg(test)]
mod tests;

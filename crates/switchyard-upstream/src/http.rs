//! The HTTP side of an upstream: one pooled, keep-alive `reqwest` client per upstream, a POST
//! of one JSON-RPC message, and its answer read as JSON or as an SSE stream of messages.

use std::time::Duration;

use bytes::BytesMut;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use switchyard_protocol::jsonrpc::Message;
use switchyard_protocol::sse::Decoder;
use switchyard_state::UpstreamSession;

/// The largest answer (or SSE event) read from an upstream.
const MAX_ANSWER: usize = 16 * 1024 * 1024;

/// Why an exchange with an upstream failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Failure {
    /// It could not be reached (connection refused, reset, DNS). Counts against its breaker;
    /// idempotent calls are retried.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// It stayed silent longer than `request_timeout_ms`. Counts against its breaker.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// It answered 404 to a request carrying its session id: the session expired or it
    /// restarted.
    #[error("its session is gone (404)")]
    SessionGone,
    /// Another HTTP status. A 5xx counts against its breaker.
    #[error("HTTP {0}: {1}")]
    Status(u16, String),
    /// An answer that is not MCP.
    #[error("unreadable answer: {0}")]
    Protocol(String),
}

impl Failure {
    /// Whether this says the upstream is unwell (the breaker counts it; a retry may help).
    pub fn is_outage(&self) -> bool {
        match self {
            Failure::Unreachable(_) | Failure::Timeout(_) => true,
            Failure::Status(s, _) => *s >= 500,
            _ => false,
        }
    }
}

/// One upstream's HTTP client.
#[derive(Debug, Clone)]
pub struct Transport {
    client: reqwest::Client,
    url: String,
    headers: HeaderMap,
    /// The longest silence while an answer is pending.
    pub idle: Duration,
}

impl Transport {
    /// A client for `url` sending `headers` with every request.
    pub fn new(
        url: &str,
        headers: &[(String, String)],
        connect: Duration,
        idle: Duration,
    ) -> Result<Self, String> {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|e| format!("header name {k:?}: {e}"))?;
            let value =
                HeaderValue::from_str(v).map_err(|e| format!("header {k:?}'s value: {e}"))?;
            map.insert(name, value);
        }
        let client = reqwest::Client::builder()
            .connect_timeout(connect)
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(256)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Self {
            client,
            url: url.to_owned(),
            headers: map,
            idle,
        })
    }

    /// POSTs `message`, in `session` when given, and returns its answer once its headers
    /// are in.
    pub async fn post(
        &self,
        session: Option<&UpstreamSession>,
        message: &Message,
    ) -> Result<Answer, Failure> {
        let mut req = self
            .client
            .post(&self.url)
            .headers(self.headers.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream")
            .body(message.to_json());
        if let Some(s) = session {
            if let Some(id) = &s.session_id {
                req = req.header("mcp-session-id", id);
            }
            req = req.header("mcp-protocol-version", &s.protocol_version);
        }
        let sent = session.and_then(|s| s.session_id.as_ref()).is_some();
        let response = match tokio::time::timeout(self.idle, req.send()).await {
            Err(_) => return Err(Failure::Timeout(self.idle)),
            Ok(Err(e)) => return Err(Failure::Unreachable(error_chain(&e))),
            Ok(Ok(r)) => r,
        };
        let status = response.status();
        let session_id = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let sse = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/event-stream"));
        if status.as_u16() == 404 && sent {
            return Err(Failure::SessionGone);
        }
        if status.as_u16() == 202 || status.as_u16() == 204 {
            return Ok(Answer {
                session_id,
                body: Body::Empty,
                status: status.as_u16(),
                retry: None,
            });
        }
        let body = if sse {
            Body::Sse {
                response: Box::new(response),
                decoder: Decoder::new(MAX_ANSWER),
                buf: BytesMut::new(),
            }
        } else {
            let bytes = match tokio::time::timeout(self.idle, response.bytes()).await {
                Err(_) => return Err(Failure::Timeout(self.idle)),
                Ok(Err(e)) => return Err(Failure::Unreachable(error_chain(&e))),
                Ok(Ok(b)) => b,
            };
            if bytes.len() > MAX_ANSWER {
                return Err(Failure::Protocol("answer too large".into()));
            }
            // A JSON-RPC error body rides on 4xx answers too (e.g. 400 with -32022).
            match serde_json::from_slice::<serde_json::Value>(&bytes) {
                Ok(v) if v.is_object() => Body::Json(Some(v)),
                _ if !status.is_success() => {
                    let text = String::from_utf8_lossy(&bytes);
                    let text: String = text.chars().take(200).collect();
                    return Err(Failure::Status(status.as_u16(), text));
                }
                _ => {
                    return Err(Failure::Protocol(
                        "the body is not a JSON-RPC message".into(),
                    ));
                }
            }
        };
        Ok(Answer {
            session_id,
            body,
            status: status.as_u16(),
            retry: None,
        })
    }

    /// Resumes an SSE answer the upstream closed before its response: a GET in `session`
    /// with `Last-Event-ID` (the spec's resumption; the upstream replays what followed).
    pub async fn resume(
        &self,
        session: Option<&UpstreamSession>,
        last_event_id: &str,
    ) -> Result<Answer, Failure> {
        let mut req = self
            .client
            .get(&self.url)
            .headers(self.headers.clone())
            .header(ACCEPT, "text/event-stream")
            .header("last-event-id", last_event_id);
        if let Some(s) = session {
            if let Some(id) = &s.session_id {
                req = req.header("mcp-session-id", id);
            }
            req = req.header("mcp-protocol-version", &s.protocol_version);
        }
        let response = match tokio::time::timeout(self.idle, req.send()).await {
            Err(_) => return Err(Failure::Timeout(self.idle)),
            Ok(Err(e)) => return Err(Failure::Unreachable(error_chain(&e))),
            Ok(Ok(r)) => r,
        };
        let status = response.status().as_u16();
        if status == 404 && session.is_some_and(|s| s.session_id.is_some()) {
            return Err(Failure::SessionGone);
        }
        if status != 200 {
            return Err(Failure::Status(status, "resuming the answer".into()));
        }
        Ok(Answer {
            session_id: None,
            status,
            body: Body::Sse {
                response: Box::new(response),
                decoder: Decoder::new(MAX_ANSWER),
                buf: BytesMut::new(),
            },
            retry: None,
        })
    }

    /// DELETEs an upstream session (best effort: a failure is only logged).
    pub async fn delete(&self, session: &UpstreamSession) {
        let Some(id) = &session.session_id else {
            return;
        };
        let req = self
            .client
            .delete(&self.url)
            .headers(self.headers.clone())
            .header("mcp-session-id", id)
            .header("mcp-protocol-version", &session.protocol_version);
        match tokio::time::timeout(self.idle, req.send()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::debug!(error = %e, "DELETE of an upstream session failed"),
            Err(_) => tracing::debug!("DELETE of an upstream session timed out"),
        }
    }
}

/// The error and its sources, as one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

/// An upstream's answer to a POST.
#[derive(Debug)]
pub struct Answer {
    /// The `Mcp-Session-Id` it set, if any.
    pub session_id: Option<String>,
    /// The HTTP status.
    pub status: u16,
    body: Body,
    /// The last `retry:` the upstream sent, in ms.
    retry: Option<u64>,
}

#[derive(Debug)]
enum Body {
    Empty,
    Json(Option<serde_json::Value>),
    Sse {
        response: Box<reqwest::Response>,
        decoder: Decoder,
        buf: BytesMut,
    },
}

impl Answer {
    /// Whether the answer is an SSE stream.
    pub fn is_sse(&self) -> bool {
        matches!(self.body, Body::Sse { .. })
    }

    /// The id of the last SSE event read (for `Last-Event-ID`), if any.
    pub fn last_event_id(&self) -> Option<String> {
        match &self.body {
            Body::Sse { decoder, .. } => decoder.last_event_id().map(str::to_owned),
            _ => None,
        }
    }

    /// The last `retry:` (ms) the upstream sent on this answer.
    pub fn retry_ms(&self) -> Option<u64> {
        self.retry
    }

    /// The next message of the answer; `None` at its end. Waits at most `idle` for it.
    pub async fn next(&mut self, idle: Duration) -> Result<Option<Message>, Failure> {
        match &mut self.body {
            Body::Empty => Ok(None),
            Body::Json(v) => match v.take() {
                None => Ok(None),
                Some(v) => Message::from_value(v)
                    .map(Some)
                    .map_err(|e| Failure::Protocol(e.to_string())),
            },
            Body::Sse {
                response,
                decoder,
                buf,
            } => loop {
                match decoder.decode(buf) {
                    Err(e) => return Err(Failure::Protocol(e.to_string())),
                    Ok(Some(event)) => {
                        if let Some(r) = event.retry {
                            self.retry = Some(r);
                        }
                        if event.data.trim().is_empty() {
                            // A priming event or a retry hint: nothing to relay.
                            continue;
                        }
                        let value: serde_json::Value = serde_json::from_str(&event.data)
                            .map_err(|e| Failure::Protocol(format!("SSE data: {e}")))?;
                        return Message::from_value(value)
                            .map(Some)
                            .map_err(|e| Failure::Protocol(e.to_string()));
                    }
                    Ok(None) => {}
                }
                let chunk = match tokio::time::timeout(idle, response.chunk()).await {
                    Err(_) => return Err(Failure::Timeout(idle)),
                    Ok(Err(e)) => return Err(Failure::Unreachable(error_chain(&e))),
                    Ok(Ok(None)) => return Ok(None),
                    Ok(Ok(Some(c))) => c,
                };
                buf.extend_from_slice(&chunk);
            },
        }
    }
}

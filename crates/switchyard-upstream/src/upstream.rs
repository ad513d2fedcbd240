//! [`Upstream`]: one MCP server over HTTP as a [`Backend`].
//!
//! Per client session, the upstream session (its `Mcp-Session-Id` and negotiated version)
//! lives in the client's session record (`SessionRecord::upstreams`), so every node
//! forwards with the right id: the node that needs one first initializes the upstream with
//! the client's own `initialize` parameters and stores it with a compare-and-set
//! ([`SessionStore::swap_upstream`]); a node that loses the race uses the winner's and
//! DELETEs its own. A 404 from the upstream (its session expired, it restarted) re-initializes
//! the same way and the request is retried once: the client never sees it.
//!
//! What the upstream sends while answering (progress, log messages, requests to the client)
//! goes through the request's [`Context`], so the node logs it on the client's stream like
//! any backend output and a client resuming on another node gets it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use switchyard_backend::{Backend, Context, ServerInfo, SessionView};
use switchyard_protocol::jsonrpc::{
    ErrorObject, Id, Message, Notification, Request, Response, code,
};
use switchyard_protocol::revision::Revision;
use switchyard_state::{SessionStore, UpstreamSession, UpstreamSwap};

use crate::breaker::Breaker;
use crate::config::{Kind, UpstreamConfig};
use crate::http::{Failure, Transport};
use crate::relay::ListGeneration;

/// Why an upstream cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration cannot be used.
    #[error("upstream {name}: {message}")]
    Config {
        /// The upstream.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// It speaks only the stateless 2026-07-28 revision.
    #[error(
        "upstream {name} speaks only {supported} (stateless 2026-07-28 upstreams are the \
         era-bridging issue's \"stateless upstreams\" feature, not served yet): point it at an \
         endpoint that also serves 2025-11-25 or earlier"
    )]
    ModernOnly {
        /// The upstream.
        name: String,
        /// The versions it named.
        supported: String,
    },
    /// A kind this version does not serve.
    #[error(
        "upstream {name}: kind {kind} is not served yet (streamable-http, json-rpc and stdio are)"
    )]
    NotYet {
        /// The upstream.
        name: String,
        /// The kind.
        kind: &'static str,
    },
}

/// How often one answer may be resumed with `Last-Event-ID`.
const MAX_RESUMES: u32 = 16;

/// The longest `retry:` honoured before resuming an answer.
const RESUME_WAIT_MAX_MS: u64 = 2000;

/// Methods safe to send again after a failure to reach the upstream.
fn idempotent(method: &str) -> bool {
    matches!(
        method,
        "tools/list"
            | "prompts/list"
            | "prompts/get"
            | "resources/list"
            | "resources/templates/list"
            | "resources/read"
            | "completion/complete"
            | "ping"
    )
}

/// One upstream MCP server, served as a backend.
pub struct Upstream {
    cfg: UpstreamConfig,
    http: Transport,
    breaker: Breaker,
    sessions: Arc<dyn SessionStore>,
    /// The kind, once known (detected on first contact for `auto`).
    kind: RwLock<Option<Kind>>,
    /// What its last `initialize` said.
    seen: RwLock<Seen>,
    /// The upstream session of requests without a client session (2026-07-28 clients, the
    /// node's own reads): one per node, re-created on 404.
    local: tokio::sync::Mutex<Option<UpstreamSession>>,
    /// Request ids sent to the upstream: `sy-<node nonce>-<n>`, never a client's.
    nonce: u32,
    next_id: AtomicU64,
    /// Bumped by the upstream's `list_changed` notices (shared with the federation).
    lists: Arc<ListGeneration>,
}

#[derive(Debug, Clone)]
struct Seen {
    info: ServerInfo,
    capabilities: Value,
    instructions: Option<String>,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("name", &self.cfg.name)
            .finish_non_exhaustive()
    }
}

impl Upstream {
    /// Prepares an upstream and contacts it once: an `auto` kind is detected, what it
    /// advertises is learned, and an upstream that speaks only 2026-07-28 is refused. An
    /// upstream that cannot be reached at start is logged and tried again on first use.
    pub async fn start(
        cfg: UpstreamConfig,
        sessions: Arc<dyn SessionStore>,
        lists: Arc<ListGeneration>,
    ) -> Result<Upstream, StartError> {
        let config_error = |message: String| StartError::Config {
            name: cfg.name.clone(),
            message,
        };
        match cfg.kind {
            Kind::Stdio | Kind::HttpSse => {
                return Err(StartError::NotYet {
                    name: cfg.name.clone(),
                    kind: cfg.kind.as_str(),
                });
            }
            _ => {}
        }
        let mut headers: Vec<(String, String)> = Vec::new();
        for (k, v) in &cfg.headers {
            headers.push((k.clone(), v.clone()));
        }
        for (k, var) in &cfg.headers_env {
            let v = std::env::var(var).map_err(|_| {
                config_error(format!(
                    "headers_env.{k}: the environment variable {var} is not set"
                ))
            })?;
            headers.push((k.clone(), v));
        }
        let http = Transport::new(
            &cfg.url,
            &headers,
            Duration::from_millis(cfg.connect_timeout_ms),
            Duration::from_millis(cfg.request_timeout_ms),
        )
        .map_err(config_error)?;
        let kind = (cfg.kind != Kind::Auto).then_some(cfg.kind);
        let up = Upstream {
            breaker: Breaker::new(
                cfg.breaker_failures,
                Duration::from_millis(cfg.breaker_open_ms),
            ),
            seen: RwLock::new(Seen {
                info: ServerInfo {
                    name: cfg.name.clone(),
                    version: "unknown".into(),
                    title: None,
                },
                capabilities: json!({"tools": {}, "resources": {}, "prompts": {}}),
                instructions: None,
            }),
            kind: RwLock::new(kind),
            cfg,
            http,
            sessions,
            local: tokio::sync::Mutex::new(None),
            nonce: rand::random(),
            next_id: AtomicU64::new(1),
            lists,
        };
        match up.probe().await {
            Ok(kind) => {
                tracing::info!(upstream = %up.cfg.name, kind = kind.as_str(), url = %up.cfg.url, "upstream ready");
            }
            Err(Probe::Modern(supported)) => {
                return Err(StartError::ModernOnly {
                    name: up.cfg.name.clone(),
                    supported,
                });
            }
            Err(Probe::Failed(f)) => {
                tracing::warn!(upstream = %up.cfg.name, url = %up.cfg.url, error = %f, "upstream not reachable at start; trying again on first use");
            }
        }
        Ok(up)
    }

    /// The upstream's name.
    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    /// Its configuration.
    pub fn config(&self) -> &UpstreamConfig {
        &self.cfg
    }

    fn kind_now(&self) -> Option<Kind> {
        *self
            .kind
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn fresh_id(&self) -> Id {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        Id::String(format!("sy-{:08x}-{n}", self.nonce))
    }

    /// An error naming this upstream.
    fn error(&self, code: i64, message: impl std::fmt::Display) -> ErrorObject {
        ErrorObject::new(code, format!("upstream {}: {message}", self.cfg.name))
            .with_data(json!({"upstream": self.cfg.name}))
    }

    /// Contacts the upstream with `initialize` as the gateway itself: learns its kind and
    /// capabilities. Its session, if it made one, is deleted.
    async fn probe(&self) -> Result<Kind, Probe> {
        let view = SessionView {
            protocol_version: Revision::LATEST_SESSION.as_str().into(),
            client_info: json!({"name": "switchyard", "version": env!("CARGO_PKG_VERSION")}),
            client_capabilities: json!({}),
            ..SessionView::default()
        };
        let (session, sse) = match self.initialize(&view).await {
            Ok(v) => v,
            Err(Init::Refused(e)) => {
                if let Some(supported) = modern_only(&e) {
                    return Err(Probe::Modern(supported));
                }
                // A plain JSON-RPC endpoint that does not implement initialize.
                return Ok(self.settle(Kind::JsonRpc));
            }
            Err(Init::Failed(Failure::Status(s, _))) if (400..500).contains(&s) => {
                return Ok(self.settle(Kind::JsonRpc));
            }
            Err(Init::Failed(f)) => return Err(Probe::Failed(f)),
        };
        let detected = if session.session_id.is_some() || sse {
            Kind::StreamableHttp
        } else {
            Kind::JsonRpc
        };
        self.http.delete(&session).await;
        Ok(self.settle(detected))
    }

    /// Records the detected kind unless one is configured; returns the kind in force.
    fn settle(&self, detected: Kind) -> Kind {
        let mut kind = self
            .kind
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *kind.get_or_insert(detected)
    }

    /// The kind, detecting it now if it is not known yet.
    async fn kind(&self) -> Result<Kind, ErrorObject> {
        if let Some(k) = self.kind_now() {
            return Ok(k);
        }
        match self.probe().await {
            Ok(k) => Ok(k),
            Err(Probe::Modern(supported)) => Err(self.error(
                code::INTERNAL_ERROR,
                format!(
                    "speaks only {supported}; stateless 2026-07-28 upstreams are not served yet"
                ),
            )),
            Err(Probe::Failed(f)) => {
                if f.is_outage() {
                    self.breaker.failure();
                }
                Err(self.failure_error(&f))
            }
        }
    }

    fn failure_error(&self, f: &Failure) -> ErrorObject {
        self.error(code::INTERNAL_ERROR, f)
    }

    /// `initialize` with the client's parameters, then `notifications/initialized`.
    /// Returns the upstream session and whether the answer came as SSE.
    async fn initialize(&self, view: &SessionView) -> Result<(UpstreamSession, bool), Init> {
        let requested = if view.protocol_version.is_empty()
            || Revision::parse_session(&view.protocol_version).is_err()
        {
            Revision::LATEST_SESSION.as_str().to_owned()
        } else {
            view.protocol_version.clone()
        };
        let mut params = Map::new();
        params.insert("protocolVersion".into(), json!(requested));
        params.insert(
            "capabilities".into(),
            if view.client_capabilities.is_object() {
                view.client_capabilities.clone()
            } else {
                json!({})
            },
        );
        params.insert(
            "clientInfo".into(),
            if view.client_info.is_object() {
                view.client_info.clone()
            } else {
                json!({"name": "switchyard", "version": env!("CARGO_PKG_VERSION")})
            },
        );
        let id = self.fresh_id();
        let req = Message::Request(Request::new(id.clone(), "initialize", Some(params)));
        let mut answer = self.http.post(None, &req).await.map_err(Init::Failed)?;
        let sse = answer.is_sse();
        let session_id = answer.session_id.clone();
        let result = loop {
            match answer.next(self.http.idle).await.map_err(Init::Failed)? {
                Some(Message::Response(Response {
                    id: Some(rid),
                    outcome,
                })) if rid == id => {
                    break outcome.map_err(Init::Refused)?;
                }
                Some(_) => {}
                None => {
                    return Err(Init::Failed(Failure::Protocol(
                        "initialize answered without a response".into(),
                    )));
                }
            }
        };
        let version = result
            .get("protocolVersion")
            .and_then(Value::as_str)
            .unwrap_or(&requested)
            .to_owned();
        self.learn(&result);
        let session = UpstreamSession {
            session_id,
            protocol_version: version,
        };
        let initialized =
            Message::Notification(Notification::new("notifications/initialized", None));
        // An upstream that refuses it still serves (some plain endpoints answer 4xx).
        if let Err(e) = self.http.post(Some(&session), &initialized).await {
            tracing::debug!(upstream = %self.cfg.name, error = %e, "notifications/initialized not accepted");
        }
        Ok((session, sse))
    }

    /// Keeps what an `initialize` result advertises.
    fn learn(&self, result: &Value) {
        let mut seen = self
            .seen
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(c) = result.get("capabilities").filter(|c| c.is_object()) {
            seen.capabilities = c.clone();
        }
        if let Some(i) = result.get("serverInfo") {
            seen.info = ServerInfo {
                name: i
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or(&self.cfg.name)
                    .to_owned(),
                version: i
                    .get("version")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown")
                    .to_owned(),
                title: i.get("title").and_then(Value::as_str).map(str::to_owned),
            };
        }
        seen.instructions = result
            .get("instructions")
            .and_then(Value::as_str)
            .map(str::to_owned);
    }

    /// The upstream session stored for `view`'s client session, if any.
    fn stored(&self, view: &SessionView) -> Option<UpstreamSession> {
        let v = view.upstreams.get(&self.cfg.name)?;
        serde_json::from_value(v.clone()).ok()
    }

    /// A new upstream session for `view`, with the error mapped for the client.
    async fn open(&self, view: &SessionView) -> Result<UpstreamSession, Failure> {
        match self.initialize(view).await {
            Ok((s, _)) => Ok(s),
            Err(Init::Failed(f)) => Err(f),
            Err(Init::Refused(e)) => Err(Failure::Protocol(format!(
                "initialize refused: {} ({})",
                e.message, e.code
            ))),
        }
    }

    /// The upstream session to forward `view`'s request in: the stored one, or a new one
    /// stored with a compare-and-set. `stale`: the one that just answered 404.
    async fn session_for(
        &self,
        view: &SessionView,
        stale: Option<&UpstreamSession>,
    ) -> Result<UpstreamSession, Failure> {
        let Some(client) = &view.id else {
            let mut local = self.local.lock().await;
            match &*local {
                Some(s) if Some(s) != stale => return Ok(s.clone()),
                _ => {}
            }
            let s = self.open(view).await?;
            *local = Some(s.clone());
            return Ok(s);
        };
        if stale.is_none()
            && let Some(s) = self.stored(view)
        {
            return Ok(s);
        }
        let fresh = self.open(view).await?;
        let mut expected = stale.cloned();
        for _ in 0..3 {
            let outcome = self
                .sessions
                .swap_upstream(client, &self.cfg.name, expected.as_ref(), Some(&fresh))
                .await
                .map_err(|e| Failure::Protocol(format!("storing the upstream session: {e}")))?;
            match outcome {
                UpstreamSwap::Swapped | UpstreamSwap::NoSession => return Ok(fresh),
                // Another node was first (or re-initialized after the same 404): use its.
                UpstreamSwap::Current(Some(theirs)) if Some(&theirs) != stale => {
                    self.http.delete(&fresh).await;
                    return Ok(theirs);
                }
                UpstreamSwap::Current(current) => expected = current,
            }
        }
        Ok(fresh)
    }

    /// Sends `request` and reads its answer, relaying what precedes the response.
    async fn exchange(
        &self,
        session: Option<&UpstreamSession>,
        request: &Request,
        ctx: &Context,
    ) -> Result<Result<Value, ErrorObject>, Failure> {
        let id = self.fresh_id();
        let forwarded = Message::Request(Request::new(
            id.clone(),
            request.method.clone(),
            request.params.clone(),
        ));
        let mut answer = self.http.post(session, &forwarded).await?;
        let mut resumes = 0;
        loop {
            let next = tokio::select! {
                biased;
                _ = ctx.cancel.cancelled() => {
                    self.cancel(session, &id).await;
                    return Ok(Err(self.error(code::INTERNAL_ERROR, "request cancelled")));
                }
                next = answer.next(self.http.idle) => next?,
            };
            match next {
                // An error with a null id is about the request itself (it could not be read).
                Some(Message::Response(r)) if r.id.is_none() || r.id.as_ref() == Some(&id) => {
                    return Ok(r.outcome);
                }
                Some(Message::Response(_)) => {}
                Some(Message::Notification(n)) => crate::relay::relay(ctx, n, &self.lists).await,
                Some(Message::Request(r)) => self.ask_client(session, r, ctx).await,
                None => {
                    // An upstream may close its SSE answer early (2025-11-25 polling) and
                    // expect a GET with Last-Event-ID for the rest.
                    let Some(last) = answer.last_event_id().filter(|_| resumes < MAX_RESUMES)
                    else {
                        return Err(Failure::Protocol(
                            "the answer ended without a response".into(),
                        ));
                    };
                    resumes += 1;
                    // Mirror it: the client's stream closes early too (where it can be
                    // resumed), and resumes from our log while we resume the upstream's.
                    ctx.close_stream();
                    let wait = answer.retry_ms().unwrap_or(0).min(RESUME_WAIT_MAX_MS);
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                    answer = self.http.resume(session, &last).await?;
                }
            }
        }
    }

    /// Relays a request the upstream sent (sampling, elicitation, roots, ping) to the client
    /// and POSTs the client's answer back.
    async fn ask_client(&self, session: Option<&UpstreamSession>, r: Request, ctx: &Context) {
        let outcome = if r.method == "ping" {
            Ok(json!({}))
        } else {
            let key = format!("{}:{}", self.cfg.name, r.id);
            ctx.request_keyed(&key, &r.method, r.params.map_or(json!({}), Value::Object))
                .await
        };
        let answer = Message::Response(Response {
            id: Some(r.id),
            outcome,
        });
        if let Err(e) = self.http.post(session, &answer).await {
            tracing::warn!(upstream = %self.cfg.name, error = %e, "could not return the client's answer");
        }
    }

    async fn cancel(&self, session: Option<&UpstreamSession>, id: &Id) {
        let params = json!({"requestId": id, "reason": "cancelled by the client"});
        let n = Message::Notification(Notification::new(
            "notifications/cancelled",
            params.as_object().cloned(),
        ));
        let _ = self.http.post(session, &n).await;
    }

    /// One attempt: the session, the exchange, and one re-initialize on 404.
    async fn attempt(
        &self,
        kind: Kind,
        request: &Request,
        ctx: &Context,
    ) -> Result<Result<Value, ErrorObject>, Failure> {
        if kind == Kind::JsonRpc {
            return self.exchange(None, request, ctx).await;
        }
        let session = self.session_for(&ctx.session, None).await?;
        match self.exchange(Some(&session), request, ctx).await {
            Err(Failure::SessionGone) => {
                tracing::info!(upstream = %self.cfg.name, "upstream session gone (404): re-initializing");
                let session = self.session_for(&ctx.session, Some(&session)).await?;
                self.exchange(Some(&session), request, ctx).await
            }
            other => other,
        }
    }
}

/// How `initialize` went wrong.
enum Init {
    Failed(Failure),
    Refused(ErrorObject),
}

/// How a probe went wrong.
enum Probe {
    Failed(Failure),
    Modern(String),
}

/// The versions an `initialize` error names, when none of them is a session revision.
fn modern_only(e: &ErrorObject) -> Option<String> {
    let supported: Vec<&str> = e
        .data
        .as_ref()?
        .get("supported")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if supported.is_empty() || supported.iter().any(|v| Revision::parse_session(v).is_ok()) {
        return None;
    }
    Some(supported.join(", "))
}

#[async_trait]
impl Backend for Upstream {
    fn info(&self) -> ServerInfo {
        self.seen
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .info
            .clone()
    }

    fn capabilities(&self) -> Value {
        self.seen
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .capabilities
            .clone()
    }

    fn instructions(&self) -> Option<String> {
        self.seen
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .instructions
            .clone()
    }

    async fn handle(&self, request: Request, ctx: Context) -> Result<Value, ErrorObject> {
        if let Err(open) = self.breaker.admit() {
            return Err(self.error(
                code::INTERNAL_ERROR,
                format!(
                    "unavailable (circuit open after repeated failures; next try in {} ms)",
                    open.retry_in.as_millis()
                ),
            ));
        }
        let kind = self.kind().await?;
        let attempts = if idempotent(&request.method) {
            1 + self.cfg.retries
        } else {
            1
        };
        let mut last = None;
        for n in 0..attempts {
            if n > 0 {
                tokio::time::sleep(Duration::from_millis(100 << (n - 1).min(4))).await;
                if self.breaker.admit().is_err() {
                    break;
                }
            }
            match self.attempt(kind, &request, &ctx).await {
                Ok(outcome) => {
                    self.breaker.success();
                    return outcome;
                }
                Err(f) if f.is_outage() => {
                    self.breaker.failure();
                    tracing::warn!(upstream = %self.cfg.name, method = %request.method, error = %f, "upstream call failed");
                    last = Some(f);
                }
                Err(f) => {
                    self.breaker.success();
                    return Err(self.failure_error(&f));
                }
            }
        }
        Err(self.failure_error(&last.unwrap_or(Failure::Unreachable("circuit open".into()))))
    }

    async fn notification(&self, notification: Notification, ctx: Context) {
        // Only sessions that exist upstream hear of the client's notifications (e.g.
        // roots/list_changed); a notification never creates one.
        let session = match self.kind_now() {
            Some(Kind::JsonRpc) => None,
            Some(_) => {
                let Some(s) = self.stored(&ctx.session) else {
                    return;
                };
                Some(s)
            }
            None => return,
        };
        let _ = self
            .http
            .post(session.as_ref(), &Message::Notification(notification))
            .await;
    }

    async fn session_closed(&self, session: &SessionView) {
        if let Some(s) = self.stored(session) {
            self.http.delete(&s).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_initialize_error_naming_only_2026_is_modern_only() {
        let e = |supported: Value| {
            ErrorObject::new(code::UNSUPPORTED_PROTOCOL_VERSION, "unsupported")
                .with_data(json!({"requested": "2025-11-25", "supported": supported}))
        };
        assert_eq!(
            modern_only(&e(json!(["2026-07-28"]))),
            Some("2026-07-28".to_owned())
        );
        assert_eq!(modern_only(&e(json!(["2026-07-28", "2025-06-18"]))), None);
        assert_eq!(modern_only(&e(json!([]))), None);
        assert_eq!(
            modern_only(&ErrorObject::method_not_found("initialize")),
            None
        );
    }

    #[test]
    fn only_reads_are_retried() {
        for m in [
            "tools/list",
            "resources/read",
            "prompts/get",
            "completion/complete",
        ] {
            assert!(idempotent(m), "{m}");
        }
        for m in ["tools/call", "sampling/createMessage", "initialize"] {
            assert!(!idempotent(m), "{m}");
        }
        assert!(Failure::Timeout(Duration::from_secs(1)).is_outage());
        assert!(Failure::Status(503, String::new()).is_outage());
        assert!(!Failure::Status(400, String::new()).is_outage());
        assert!(!Failure::SessionGone.is_outage());
    }
}

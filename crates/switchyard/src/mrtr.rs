//! Multi round-trip requests (2026-07-28) on top of the era-neutral [`Peer`] contract.
//!
//! A backend asks the client something with `ctx.request…`. In the stateless revision the
//! node cannot hold the handler open while the client thinks, and the retry may reach any
//! node. So [`MrtrPeer`] answers from what the client already sent (`inputResponses`, plus
//! the answers of earlier rounds carried in `requestState`); for anything else it records
//! the question and suspends the handler forever, and the exchange answers `input_required`
//! with every recorded question. The retry runs the handler again from the start.
//!
//! `requestState` is minted here and integrity-protected: base64url(JSON payload) `.`
//! base64url(HMAC-SHA256(key, payload)). The payload binds the method, the request's
//! name/uri and an expiry, and carries the answers so far — so the node keeps nothing.

use std::sync::Mutex;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Sha256;
use switchyard_backend::{InputRequest, Peer};
use switchyard_protocol::jsonrpc::{ErrorObject, Message, code};
use switchyard_protocol::method::Method;
use tokio::sync::{Notify, mpsc};

/// The answers a handler may draw on, and the questions it asked that have none.
pub struct MrtrPeer {
    answers: Map<String, Value>,
    capabilities: Value,
    asked: Mutex<Vec<InputRequest>>,
    needed: Notify,
}

impl MrtrPeer {
    /// A peer answering from `answers`, for a client with `capabilities`.
    pub fn new(answers: Map<String, Value>, capabilities: Value) -> Self {
        Self {
            answers,
            capabilities,
            asked: Mutex::new(Vec::new()),
            needed: Notify::new(),
        }
    }

    /// Resolves once the handler asked something unanswered.
    pub async fn input_needed(&self) {
        self.needed.notified().await;
    }

    /// The unanswered questions, in the order asked.
    pub fn take_asked(&self) -> Vec<InputRequest> {
        std::mem::take(&mut *self.asked.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Every answer known now (to carry into the next `requestState`).
    pub fn answers(&self) -> &Map<String, Value> {
        &self.answers
    }

    fn check_capability(&self, method: &str) -> Result<(), ErrorObject> {
        let cap = match Method::parse(method) {
            Some(Method::ElicitationCreate) => "elicitation",
            Some(Method::SamplingCreateMessage) => "sampling",
            Some(Method::RootsList) => "roots",
            _ => {
                return Err(ErrorObject::invalid_params(format!(
                    "{method} cannot be asked of a client"
                )));
            }
        };
        if self.capabilities.get(cap).is_some_and(|v| !v.is_null()) {
            return Ok(());
        }
        Err(missing_capability(cap))
    }
}

/// `-32021`: the request needs a client capability that was not declared.
pub fn missing_capability(cap: &str) -> ErrorObject {
    let mut required = Map::new();
    required.insert(cap.to_owned(), Value::Object(Map::new()));
    ErrorObject::new(
        code::MISSING_CAPABILITY,
        format!("Missing required client capability: {cap}"),
    )
    .with_data(serde_json::json!({ "requiredCapabilities": required }))
}

#[async_trait]
impl Peer for MrtrPeer {
    async fn request(
        &self,
        request: InputRequest,
        _outbox: &mpsc::Sender<Message>,
    ) -> Result<Value, ErrorObject> {
        self.check_capability(&request.method)?;
        if let Some(answer) = self.answers.get(&request.key) {
            return Ok(answer.clone());
        }
        self.asked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(request);
        self.needed.notify_one();
        std::future::pending().await
    }

    async fn request_all(
        &self,
        requests: Vec<InputRequest>,
        outbox: &mpsc::Sender<Message>,
    ) -> Vec<Result<Value, ErrorObject>> {
        // Record every unanswered question before suspending, so that one round asks
        // them all.
        let mut missing = Vec::new();
        let mut results = Vec::with_capacity(requests.len());
        for r in &requests {
            if let Err(e) = self.check_capability(&r.method) {
                results.push(Err(e));
            } else if let Some(a) = self.answers.get(&r.key) {
                results.push(Ok(a.clone()));
            } else {
                missing.push(r.clone());
                results.push(Err(ErrorObject::internal("unanswered")));
            }
        }
        if missing.is_empty() {
            return results;
        }
        let _ = outbox;
        self.asked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(missing);
        self.needed.notify_one();
        std::future::pending().await
    }
}

/// What a `requestState` binds and carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct StatePayload {
    /// Format version.
    v: u8,
    /// The method of the request it was minted for.
    m: String,
    /// The name or URI of that request (`params.name` / `params.uri`), if any.
    n: Option<String>,
    /// Expiry, ms since the Unix epoch.
    exp: u64,
    /// The principal it was minted for: another principal's retry is refused.
    #[serde(default)]
    p: String,
    /// The answers given so far, by key.
    a: Map<String, Value>,
}

/// Mints and verifies `requestState`.
#[derive(Clone)]
pub struct StateSealer {
    key: Vec<u8>,
    /// Older keys still accepted (a rotation in progress).
    older: Vec<Vec<u8>>,
    ttl_ms: u64,
}

impl std::fmt::Debug for StateSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateSealer")
            .field("ttl_ms", &self.ttl_ms)
            .finish_non_exhaustive()
    }
}

impl StateSealer {
    /// A sealer with a secret key and a lifetime for the states it mints.
    pub fn new(key: Vec<u8>, ttl_ms: u64) -> Self {
        Self {
            key,
            older: Vec::new(),
            ttl_ms,
        }
    }

    /// Also accepts states sealed with `older` keys (it still seals with its own).
    pub fn accepting(mut self, older: Vec<Vec<u8>>) -> Self {
        self.older = older;
        self
    }

    /// How long the states it mints stay valid, in milliseconds.
    pub fn ttl_ms(&self) -> u64 {
        self.ttl_ms
    }

    fn mac(&self, payload: &[u8]) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(payload);
        mac.finalize().into_bytes().to_vec()
    }

    /// Seals the answers so far for a retry of `method` on `name`.
    pub fn seal(
        &self,
        principal: &str,
        method: &str,
        name: Option<&str>,
        answers: &Map<String, Value>,
    ) -> String {
        let exp = switchyard_state::now_ms() + self.ttl_ms;
        self.seal_until(exp, principal, method, name, answers)
    }

    fn seal_until(
        &self,
        exp: u64,
        principal: &str,
        method: &str,
        name: Option<&str>,
        answers: &Map<String, Value>,
    ) -> String {
        let payload = StatePayload {
            v: 1,
            m: method.to_owned(),
            n: name.map(str::to_owned),
            exp,
            p: principal.to_owned(),
            a: answers.clone(),
        };
        let json = serde_json::to_vec(&payload).unwrap_or_default();
        format!("{}.{}", B64.encode(&json), B64.encode(self.mac(&json)))
    }

    /// Verifies a state presented on a retry of `method` on `name`; returns its answers.
    pub fn open(
        &self,
        state: &str,
        principal: &str,
        method: &str,
        name: Option<&str>,
    ) -> Result<Map<String, Value>, ErrorObject> {
        let bad = |why: &str| ErrorObject::invalid_params(format!("invalid requestState: {why}"));
        let (body, tag) = state.split_once('.').ok_or_else(|| bad("malformed"))?;
        let json = B64.decode(body).map_err(|_| bad("malformed"))?;
        let tag = B64.decode(tag).map_err(|_| bad("malformed"))?;
        let verifies = |key: &[u8]| {
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
                .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
            mac.update(&json);
            mac.verify_slice(&tag).is_ok()
        };
        let any = std::iter::once(&self.key).chain(&self.older);
        if !any.into_iter().any(|k| verifies(k)) {
            return Err(bad("integrity check failed"));
        }
        let payload: StatePayload = serde_json::from_slice(&json).map_err(|_| bad("malformed"))?;
        if payload.m != method || payload.n.as_deref() != name || payload.p != principal {
            return Err(bad("minted for another request"));
        }
        if payload.exp < switchyard_state::now_ms() {
            return Err(bad("expired"));
        }
        Ok(payload.a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn seals_and_opens_and_refuses_tampering() {
        let s = StateSealer::new(b"k".to_vec(), 60_000);
        let mut answers = Map::new();
        answers.insert("user_name".into(), json!({"action": "accept"}));
        let state = s.seal("alice", "tools/call", Some("t"), &answers);
        assert_eq!(
            s.open(&state, "alice", "tools/call", Some("t")),
            Ok(answers)
        );
        assert!(
            s.open(
                &format!("{state}-TAMPERED"),
                "alice",
                "tools/call",
                Some("t")
            )
            .is_err()
        );
        assert!(
            s.open(&state, "alice", "tools/call", Some("other"))
                .is_err()
        );
        assert!(s.open(&state, "alice", "prompts/get", Some("t")).is_err());
        assert!(
            s.open(&state, "bob", "tools/call", Some("t")).is_err(),
            "bound to its principal"
        );
        let other_key = StateSealer::new(b"k2".to_vec(), 60_000);
        assert!(
            other_key
                .open(&state, "alice", "tools/call", Some("t"))
                .is_err()
        );
        // A rotation: sealed with the old key, opened by a sealer that has moved on.
        let rotated = StateSealer::new(b"k2".to_vec(), 60_000).accepting(vec![b"k".to_vec()]);
        assert!(
            rotated
                .open(&state, "alice", "tools/call", Some("t"))
                .is_ok()
        );
        let fresh = rotated.seal("alice", "tools/call", Some("t"), &Map::new());
        assert!(
            s.open(&fresh, "alice", "tools/call", Some("t")).is_err(),
            "signed with the first"
        );
        let old = s.seal_until(1, "alice", "tools/call", None, &Map::new());
        assert!(
            s.open(&old, "alice", "tools/call", None).is_err(),
            "expired"
        );
    }
}

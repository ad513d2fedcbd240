//! Runs requests through a backend with [`serve`], as a node would, with a scripted client.

mod exchange;
mod mrtr;
mod peers;
mod round;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Map, Value, json};
use switchyard_backend::demo::Demo;
use switchyard_backend::everything::Everything;
use switchyard_backend::{Backend, Context, Peer, SessionView, StreamControl, serve};
use switchyard_protocol::jsonrpc::{Id, Message, Request};

pub(crate) use exchange::Exchange;
pub(crate) use peers::{Recorder, ScriptedClient};
pub(crate) use round::{Round, accept, roots_answer, sampled};

/// How long one exchange may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(10);

/// The `everything` fixture, in a fresh session.
pub(crate) fn everything() -> Harness {
    Harness::new(Arc::new(Everything::new()))
}

/// The demo on a fresh in-memory database, in a fresh session.
pub(crate) fn demo() -> Harness {
    let backend = Demo::open(Path::new(":memory:")).expect("in-memory demo");
    Harness::new(Arc::new(backend))
}

/// One backend, one client session.
pub(crate) struct Harness {
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) client: Arc<ScriptedClient>,
    pub(crate) changes: Arc<Recorder>,
    pub(crate) session: SessionView,
    pub(crate) stream: Option<Arc<dyn StreamControl>>,
}

impl Harness {
    /// A 2025-11-25 session whose client declares sampling, elicitation and roots.
    pub(crate) fn new(backend: Arc<dyn Backend>) -> Self {
        Self {
            backend,
            client: Arc::new(ScriptedClient {
                elicitation_answer: Mutex::new(json!({ "action": "accept", "content": {} })),
                asked: Mutex::new(Vec::new()),
            }),
            changes: Arc::new(Recorder::default()),
            session: SessionView {
                id: Some("session-1".into()),
                protocol_version: "2025-11-25".into(),
                client_capabilities: json!({ "sampling": {}, "elicitation": {}, "roots": {} }),
                client_info: json!({ "name": "test-client", "version": "1.0.0" }),
                upstreams: Default::default(),
            },
            stream: None,
        }
    }

    /// Runs `method` with `params` through `serve` with `peer` as the client, as the node
    /// would; `params._meta.progressToken` reaches the context.
    pub(crate) fn start(
        &self,
        method: &str,
        params: Value,
        peer: Arc<dyn Peer>,
    ) -> impl futures::Stream<Item = Message> + Send + 'static {
        let params: Option<Map<String, Value>> = params.as_object().cloned();
        let token = params
            .as_ref()
            .and_then(|p| p.get("_meta"))
            .and_then(|m| m.get("progressToken"))
            .cloned();
        let request = Request::new(Id::Number(1), method, params);
        let (session, changes) = (self.session.clone(), self.changes.clone());
        let control = self.stream.clone();
        serve(self.backend.clone(), request, move |outbox| {
            let ctx = Context::new(session, outbox, peer, changes).with_progress_token(token);
            match control {
                Some(c) => ctx.with_stream_control(c),
                None => ctx,
            }
        })
    }

    /// Sends `method` with `params` to the scripted (session-era) client.
    pub(crate) async fn request(&self, method: &str, params: Value) -> Exchange {
        let started = Instant::now();
        let stream = self.start(method, params, self.client.clone());
        let mut messages: Vec<Message> = tokio::time::timeout(DEADLINE, stream.collect())
            .await
            .unwrap_or_else(|_| panic!("{method} did not finish within {DEADLINE:?}"));
        let elapsed = started.elapsed();
        let Some(Message::Response(response)) = messages.pop() else {
            panic!("{method}: the stream did not end with a response: {messages:?}");
        };
        assert_eq!(
            response.id,
            Some(Id::Number(1)),
            "the response answers the request"
        );
        Exchange {
            before: messages,
            outcome: response.outcome,
            elapsed,
        }
    }

    /// `tools/call` of `name` with `arguments`.
    pub(crate) async fn call_tool(&self, name: &str, arguments: Value) -> Exchange {
        self.request(
            "tools/call",
            json!({ "name": name, "arguments": arguments }),
        )
        .await
    }

    /// What the client was asked, in order.
    pub(crate) fn asked(&self) -> Vec<(String, Value)> {
        self.client.asked.lock().unwrap().clone()
    }

    /// The one request a tool sent the client (checked to precede the result), its params.
    pub(crate) fn only_request(&self, out: &Exchange, method: &str) -> Value {
        let asked = self.asked();
        assert_eq!(
            asked.len(),
            1,
            "exactly one request to the client: {asked:?}"
        );
        assert_eq!(asked[0].0, method);
        let sent_first = out
            .before
            .iter()
            .any(|m| matches!(m, Message::Request(r) if r.method == method));
        assert!(sent_first, "the request goes out before the result");
        asked[0].1.clone()
    }

    /// The resource URIs announced as updated, in order.
    pub(crate) fn updated(&self) -> Vec<String> {
        self.changes.updated.lock().unwrap().clone()
    }
}

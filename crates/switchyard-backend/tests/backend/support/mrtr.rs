//! The stateless revision's client, simulated: it answers from a map, and a question it has
//! no answer for parks the handler for good (as the node does before it answers
//! `input_required`), recording every such question of the round.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::StreamExt;
use serde_json::{Map, Value, json};
use switchyard_backend::{InputRequest, Peer};
use switchyard_protocol::jsonrpc::{ErrorObject, Message};
use tokio::sync::{Notify, mpsc};

use super::{DEADLINE, Exchange, Harness, Round};

/// How long a parked handler is watched for anything it should not send.
const QUIET: Duration = Duration::from_millis(200);

struct MrtrClient {
    answers: Map<String, Value>,
    asked: Mutex<Vec<InputRequest>>,
    parked: Notify,
}

impl MrtrClient {
    /// Answers `r`, or records it as outstanding.
    fn answer(&self, r: &InputRequest) -> Option<Value> {
        let known = self.answers.get(&r.key).cloned();
        if known.is_none() {
            self.asked.lock().unwrap().push(r.clone());
        }
        known
    }

    async fn park<T>(&self) -> T {
        self.parked.notify_one();
        std::future::pending().await
    }
}

#[async_trait]
impl Peer for MrtrClient {
    async fn request(
        &self,
        request: InputRequest,
        _outbox: &mpsc::Sender<Message>,
    ) -> Result<Value, ErrorObject> {
        match self.answer(&request) {
            Some(a) => Ok(a),
            None => self.park().await,
        }
    }

    async fn request_all(
        &self,
        requests: Vec<InputRequest>,
        _outbox: &mpsc::Sender<Message>,
    ) -> Vec<Result<Value, ErrorObject>> {
        let answers: Vec<Option<Value>> = requests.iter().map(|r| self.answer(r)).collect();
        if answers.iter().any(Option::is_none) {
            return self.park().await;
        }
        answers.into_iter().flatten().map(Ok).collect()
    }
}

impl Harness {
    /// Switches to the stateless 2026-07-28 revision: no session id, and the conformance
    /// client's default capabilities.
    pub(crate) fn modern(mut self) -> Self {
        self.session.id = None;
        self.session.protocol_version = "2026-07-28".into();
        self.session.client_capabilities =
            json!({ "sampling": {}, "elicitation": {}, "roots": { "listChanged": true } });
        self
    }

    /// Runs `method` once with the client's `answers` (an object keyed by question).
    pub(crate) async fn round(&self, method: &str, params: Value, answers: Value) -> Round {
        let client = Arc::new(MrtrClient {
            answers: answers.as_object().cloned().expect("answers are an object"),
            asked: Mutex::new(Vec::new()),
            parked: Notify::new(),
        });
        let started = Instant::now();
        let mut stream = Box::pin(self.start(method, params, client.clone()));
        let mut before = Vec::new();
        let parked = loop {
            tokio::select! {
                biased;
                m = stream.next() => match m {
                    Some(Message::Response(r)) => {
                        let elapsed = started.elapsed();
                        let before = std::mem::take(&mut before);
                        break Err(Exchange { before, outcome: r.outcome, elapsed });
                    }
                    Some(m) => before.push(m),
                    None => panic!("{method}: the stream ended without a response"),
                },
                () = client.parked.notified() => break Ok(()),
                () = tokio::time::sleep_until((started + DEADLINE).into()) => {
                    panic!("{method} neither answered nor asked within {DEADLINE:?}")
                }
            }
        };
        if let Err(out) = parked {
            assert!(
                client.asked.lock().unwrap().is_empty(),
                "answered and asked"
            );
            return Round::Done(out);
        }
        // Parked: what was sent before may still be queued, but no response may follow.
        while let Ok(next) = tokio::time::timeout(QUIET, stream.next()).await {
            match next {
                Some(Message::Response(r)) => panic!("{method} answered while parked: {r:?}"),
                Some(m) => before.push(m),
                None => panic!("{method}: the stream ended while the handler was parked"),
            }
        }
        let no_requests = !before.iter().any(|m| matches!(m, Message::Request(_)));
        assert!(no_requests, "no request goes out on the stream: {before:?}");
        Round::Asked(std::mem::take(&mut *client.asked.lock().unwrap()), before)
    }

    /// `tools/call` of `name` without arguments, with the client's `answers`.
    pub(crate) async fn call_round(&self, name: &str, answers: Value) -> Round {
        let params = json!({ "name": name, "arguments": {} });
        self.round("tools/call", params, answers).await
    }
}

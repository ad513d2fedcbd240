//! What one run of a handler under the simulated stateless client came to, and the
//! answers such a client gives.

use serde_json::{Value, json};
use switchyard_backend::InputRequest;
use switchyard_protocol::jsonrpc::Message;

use super::Exchange;

/// What one execution of a handler came to.
pub(crate) enum Round {
    /// It stopped at unanswered questions (what the node turns into `input_required`),
    /// having sent these messages first.
    Asked(Vec<InputRequest>, Vec<Message>),
    /// It answered.
    Done(Exchange),
}

impl Round {
    /// The outstanding questions as `(key, method)`; fails the test if the handler answered.
    pub(crate) fn keys(&self) -> Vec<(&str, &str)> {
        self.questions()
            .iter()
            .map(|q| (q.key.as_str(), q.method.as_str()))
            .collect()
    }

    /// The outstanding questions; fails the test if the handler answered.
    pub(crate) fn questions(&self) -> &[InputRequest] {
        match self {
            Round::Asked(q, _) => q,
            Round::Done(out) => panic!("expected questions, got {:?}", out.outcome),
        }
    }

    /// The exchange; fails the test if the handler is waiting for answers.
    pub(crate) fn done(self) -> Exchange {
        match self {
            Round::Done(out) => out,
            Round::Asked(q, _) => panic!("expected an answer, the handler asked {q:?}"),
        }
    }
}

/// An accepted `ElicitResult` with `content`.
pub(crate) fn accept(content: Value) -> Value {
    json!({ "action": "accept", "content": content })
}

/// A `CreateMessageResult` with `text`.
pub(crate) fn sampled(text: &str) -> Value {
    json!({ "role": "assistant", "content": { "type": "text", "text": text },
            "model": "test-model", "stopReason": "endTurn" })
}

/// A `ListRootsResult` with one root.
pub(crate) fn roots_answer() -> Value {
    json!({ "roots": [ { "uri": "file:///test/root", "name": "Test Root" } ] })
}

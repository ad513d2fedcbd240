//! The node's hooks, scripted: a client that answers, and a recorder of change notices.

use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::{Value, json};
use switchyard_backend::{Changes, InputRequest, ListKind, Peer};
use switchyard_protocol::jsonrpc::{ErrorObject, Id, Message, Request};
use tokio::sync::mpsc;

/// A client that answers sampling, elicitation and roots, and records what it was asked. Like the
/// node's peer, it writes each request to the outbox, so it shows up in the exchange.
pub(crate) struct ScriptedClient {
    pub(crate) elicitation_answer: Mutex<Value>,
    pub(crate) asked: Mutex<Vec<(String, Value)>>,
}

#[async_trait]
impl Peer for ScriptedClient {
    async fn request(
        &self,
        request: InputRequest,
        outbox: &mpsc::Sender<Message>,
    ) -> Result<Value, ErrorObject> {
        let InputRequest { method, params, .. } = request;
        let method = method.as_str();
        let n = {
            let mut asked = self.asked.lock().unwrap();
            asked.push((method.to_owned(), params.clone()));
            asked.len() as i64
        };
        let _ = outbox
            .send(Message::Request(Request::new(
                Id::Number(n),
                method,
                params.as_object().cloned(),
            )))
            .await;
        match method {
            "sampling/createMessage" => Ok(json!({
                "role": "assistant",
                "content": { "type": "text", "text": "This is a test response from the client" },
                "model": "test-model",
                "stopReason": "endTurn"
            })),
            "elicitation/create" => Ok(self.elicitation_answer.lock().unwrap().clone()),
            "roots/list" => {
                Ok(json!({ "roots": [ { "uri": "file:///workspace", "name": "ws" } ] }))
            }
            other => Err(ErrorObject::method_not_found(other)),
        }
    }
}

/// Records every change notice.
#[derive(Default)]
pub(crate) struct Recorder {
    pub(crate) updated: Mutex<Vec<String>>,
    pub(crate) lists: Mutex<Vec<ListKind>>,
}

impl Changes for Recorder {
    fn resource_updated(&self, uri: &str) {
        self.updated.lock().unwrap().push(uri.to_owned());
    }
    fn list_changed(&self, kind: ListKind) {
        self.lists.lock().unwrap().push(kind);
    }
}

//! What one request produced, and accessors that fail the test with context.

use std::time::Duration;

use serde_json::Value;
use switchyard_protocol::jsonrpc::{ErrorObject, Message};

/// Everything a request produced: the messages before the response, then the outcome.
pub(crate) struct Exchange {
    pub(crate) before: Vec<Message>,
    pub(crate) outcome: Result<Value, ErrorObject>,
    pub(crate) elapsed: Duration,
}

impl Exchange {
    /// The result; fails the test on an error.
    pub(crate) fn result(&self) -> &Value {
        match &self.outcome {
            Ok(v) => v,
            Err(e) => panic!("expected a result, got {e:?}"),
        }
    }

    /// The error; fails the test on a result.
    pub(crate) fn error(&self) -> &ErrorObject {
        match &self.outcome {
            Ok(v) => panic!("expected an error, got {v}"),
            Err(e) => e,
        }
    }

    /// The text of the first content block of a tool result.
    pub(crate) fn text(&self) -> &str {
        self.result()["content"][0]["text"]
            .as_str()
            .unwrap_or_else(|| panic!("no text content in {}", self.result()))
    }

    /// Whether the tool result reports the tool's own failure.
    pub(crate) fn is_error(&self) -> bool {
        self.result().get("isError") == Some(&Value::Bool(true))
    }

    /// The params of every notification with `method`, in order.
    pub(crate) fn notifications(&self, method: &str) -> Vec<Value> {
        self.before
            .iter()
            .filter_map(|m| match m {
                Message::Notification(n) if n.method == method => {
                    Some(Value::Object(n.params.clone().unwrap_or_default()))
                }
                _ => None,
            })
            .collect()
    }
}

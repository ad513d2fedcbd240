//! Marked notifications: a `notifications/message` whose data names it, so a test can tell
//! which pushed or broadcast message an SSE event is, and count each.

use serde_json::{Value, json};

/// A notification carrying `marker`, as the push API takes it.
pub fn marked(marker: &str) -> Value {
    json!({
        "jsonrpc": "2.0", "method": "notifications/message",
        "params": {"level": "info", "data": {"marker": marker}},
    })
}

/// The marker of an SSE event's data written by [`marked`].
pub fn marker_of(data: &str) -> Option<String> {
    let v: Value = serde_json::from_str(data).ok()?;
    v["params"]["data"]["marker"].as_str().map(str::to_owned)
}

//! Questions to the client, and checked readings of its answers.
//!
//! In the 2026-07-28 revision an answer comes from the client's `inputResponses`, which is
//! attacker-controlled input like any other parameter: a reading that does not fit the
//! question's result type is the client's error (`-32602`), never a completed request.

use serde_json::{Map, Value, json};
use switchyard_protocol::jsonrpc::ErrorObject;

use crate::InputRequest;

/// An `elicitation/create` request for one required field of `kind` (`string`, `boolean`).
pub(super) fn ask_field(key: &str, message: &str, field: &str, kind: &str) -> InputRequest {
    InputRequest {
        key: key.to_owned(),
        method: "elicitation/create".to_owned(),
        params: json!({
            "message": message,
            "requestedSchema": {
                "type": "object",
                "properties": { field: { "type": kind } },
                "required": [field]
            }
        }),
    }
}

/// A `sampling/createMessage` request with one user message.
pub(super) fn ask_model(key: &str, prompt: &str, max_tokens: u32) -> InputRequest {
    InputRequest {
        key: key.to_owned(),
        method: "sampling/createMessage".to_owned(),
        params: json!({
            "messages": [ { "role": "user", "content": { "type": "text", "text": prompt } } ],
            "maxTokens": max_tokens
        }),
    }
}

/// A `roots/list` request (its params are an empty object).
pub(super) fn ask_roots(key: &str) -> InputRequest {
    InputRequest {
        key: key.to_owned(),
        method: "roots/list".to_owned(),
        params: json!({}),
    }
}

fn malformed(key: &str, what: &str) -> ErrorObject {
    ErrorObject::invalid_params(format!("the answer to `{key}` is not {what}"))
        .with_data(json!({ "inputResponse": key }))
}

/// An `ElicitResult`: the accepted content, or `None` when the user declined or cancelled.
pub(super) fn elicited<'a>(
    key: &str,
    answer: &'a Value,
) -> Result<Option<&'a Map<String, Value>>, ErrorObject> {
    let result = || malformed(key, "an elicitation result");
    match answer.get("action").and_then(Value::as_str) {
        Some("accept") => match answer.get("content") {
            Some(Value::Object(content)) => Ok(Some(content)),
            _ => Err(result()),
        },
        Some("decline" | "cancel") => Ok(None),
        _ => Err(result()),
    }
}

/// A string field of accepted elicitation content.
pub(super) fn text_field<'a>(
    key: &str,
    content: &'a Map<String, Value>,
    field: &str,
) -> Result<&'a str, ErrorObject> {
    content
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| malformed(key, &format!("content with a string `{field}`")))
}

/// A boolean field of accepted elicitation content.
pub(super) fn bool_field(
    key: &str,
    content: &Map<String, Value>,
    field: &str,
) -> Result<bool, ErrorObject> {
    content
        .get(field)
        .and_then(Value::as_bool)
        .ok_or_else(|| malformed(key, &format!("content with a boolean `{field}`")))
}

/// The text of a `CreateMessageResult`, whose `content` is one block or (2025-11-25) an array.
pub(super) fn sampled(key: &str, answer: &Value) -> Result<String, ErrorObject> {
    let blocks: Vec<&Value> = match answer.get("content") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(block @ Value::Object(_)) => vec![block],
        _ => return Err(malformed(key, "a sampling result")),
    };
    let texts: Vec<&str> = blocks
        .iter()
        .filter_map(|b| b.get("text").and_then(Value::as_str))
        .collect();
    if texts.is_empty() {
        return Err(malformed(key, "a sampling result with text content"));
    }
    Ok(texts.join("\n"))
}

/// The URIs of a `ListRootsResult`.
pub(super) fn roots(key: &str, answer: &Value) -> Result<Vec<String>, ErrorObject> {
    let list = answer
        .get("roots")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed(key, "a roots list"))?;
    list.iter()
        .map(|r| {
            r.get("uri")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| malformed(key, "a roots list whose roots have a `uri`"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{elicited, roots, sampled, text_field};

    #[test]
    fn answers_of_the_wrong_shape_are_invalid_params() {
        for bad in [
            json!(12345),
            json!(null),
            json!({}),
            json!({ "action": "accept" }),
            json!({ "action": "maybe" }),
        ] {
            assert_eq!(elicited("k", &bad).unwrap_err().code, -32602, "{bad}");
        }
        let accepted = json!({ "action": "accept", "content": { "name": 5 } });
        let content = elicited("k", &accepted).unwrap().unwrap();
        assert!(text_field("k", content, "name").is_err());
        assert_eq!(
            elicited("k", &json!({ "action": "decline" })).unwrap(),
            None
        );
        assert!(sampled("k", &json!({ "content": { "type": "image" } })).is_err());
        assert!(roots("k", &json!({ "roots": [ { "name": "no uri" } ] })).is_err());
        assert_eq!(
            roots("k", &json!({ "roots": [ { "uri": "file:///a" } ] })).unwrap(),
            ["file:///a"]
        );
    }
}

//! Tools that send a request to the client and build their result from its answer.

use serde_json::{Map, Value, json};
use switchyard_protocol::jsonrpc::ErrorObject;

use super::{text, tool_error, tool_result};
use crate::Context;

/// A required string argument, or the `isError` result explaining it is missing.
fn required_str<'a>(args: &'a Map<String, Value>, key: &str) -> Result<&'a str, Value> {
    match args.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(tool_error(format!("`{key}` must be a string"))),
        None => Err(tool_error(format!("missing required argument `{key}`"))),
    }
}

/// `test_sampling`: asks the client's LLM and returns its answer.
pub(super) async fn sampling(
    args: &Map<String, Value>,
    ctx: &Context,
) -> Result<Value, ErrorObject> {
    let prompt = match required_str(args, "prompt") {
        Ok(p) => p,
        Err(result) => return Ok(result),
    };
    if !ctx.client_supports("sampling") {
        return Ok(tool_error("the client does not support sampling"));
    }
    let params = json!({
        "messages": [ { "role": "user", "content": { "type": "text", "text": prompt } } ],
        "maxTokens": 100,
    });
    match ctx.request("sampling/createMessage", params).await {
        Ok(answer) => Ok(tool_result(vec![text(format!(
            "LLM response: {}",
            sampled_text(&answer)
        ))])),
        Err(e) => Ok(tool_error(format!("sampling failed: {}", e.message))),
    }
}

/// The text of a `CreateMessageResult`, whose `content` is one block or (2025-11-25) an array.
fn sampled_text(answer: &Value) -> String {
    let blocks = match answer.get("content") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(block) => vec![block],
        None => Vec::new(),
    };
    let texts: Vec<&str> = blocks
        .iter()
        .filter_map(|b| b.get("text").and_then(Value::as_str))
        .collect();
    if texts.is_empty() {
        answer.to_string()
    } else {
        texts.join("\n")
    }
}

/// `test_elicitation`: asks the user for a username and an email address.
pub(super) async fn elicitation(
    args: &Map<String, Value>,
    ctx: &Context,
) -> Result<Value, ErrorObject> {
    let message = match required_str(args, "message") {
        Ok(m) => m,
        Err(result) => return Ok(result),
    };
    let schema = json!({
        "type": "object",
        "properties": {
            "username": { "type": "string", "description": "User's response" },
            "email": { "type": "string", "description": "User's email address" }
        },
        "required": ["username", "email"]
    });
    elicit(ctx, message, schema, "User response").await
}

/// The requested schema of `test_elicitation_sep1034_defaults`: a default on every field.
fn sep1034_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "name": { "type": "string", "description": "User name", "default": "John Doe" },
            "age": { "type": "integer", "description": "User age", "default": 30 },
            "score": { "type": "number", "description": "User score", "default": 95.5 },
            "status": {
                "type": "string",
                "description": "User status",
                "enum": ["active", "inactive", "pending"],
                "default": "active"
            },
            "verified": { "type": "boolean", "description": "Verification status", "default": true }
        },
        "required": []
    })
}

/// The requested schema of `test_elicitation_sep1330_enums`: the five enum field styles.
fn sep1330_schema() -> Value {
    let titled = |prefix: &str, titles: [&str; 3]| -> Vec<Value> {
        titles
            .iter()
            .enumerate()
            .map(|(i, t)| json!({ "const": format!("{prefix}{}", i + 1), "title": t }))
            .collect()
    };
    json!({
        "type": "object",
        "properties": {
            "untitledSingle": {
                "type": "string",
                "description": "Untitled single-select",
                "enum": ["option1", "option2", "option3"]
            },
            "titledSingle": {
                "type": "string",
                "description": "Titled single-select",
                "oneOf": titled("value", ["First Option", "Second Option", "Third Option"])
            },
            "legacyEnum": {
                "type": "string",
                "description": "Legacy titled enum (enumNames)",
                "enum": ["opt1", "opt2", "opt3"],
                "enumNames": ["Option One", "Option Two", "Option Three"]
            },
            "untitledMulti": {
                "type": "array",
                "description": "Untitled multi-select",
                "items": { "type": "string", "enum": ["option1", "option2", "option3"] }
            },
            "titledMulti": {
                "type": "array",
                "description": "Titled multi-select",
                "items": {
                    "anyOf": titled("value", ["First Choice", "Second Choice", "Third Choice"])
                }
            }
        },
        "required": []
    })
}

/// `test_elicitation_sep1034_defaults`.
pub(super) async fn sep1034_defaults(ctx: &Context) -> Result<Value, ErrorObject> {
    let message = "Please review your details (every field has a default)";
    elicit(ctx, message, sep1034_schema(), "Elicitation completed").await
}

/// `test_elicitation_sep1330_enums`.
pub(super) async fn sep1330_enums(ctx: &Context) -> Result<Value, ErrorObject> {
    let message = "Please choose among the options";
    elicit(ctx, message, sep1330_schema(), "Elicitation completed").await
}

/// Sends `elicitation/create` and describes the user's answer as `<prefix>: action=…, content=…`.
async fn elicit(
    ctx: &Context,
    message: &str,
    schema: Value,
    prefix: &str,
) -> Result<Value, ErrorObject> {
    if !ctx.client_supports("elicitation") {
        return Ok(tool_error("the client does not support elicitation"));
    }
    let params = json!({ "message": message, "requestedSchema": schema });
    match ctx.request("elicitation/create", params).await {
        Ok(answer) => {
            let action = answer
                .get("action")
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            let content = answer.get("content").cloned().unwrap_or(Value::Null);
            Ok(tool_result(vec![text(format!(
                "{prefix}: action={action}, content={content}"
            ))]))
        }
        Err(e) => Ok(tool_error(format!("elicitation failed: {}", e.message))),
    }
}

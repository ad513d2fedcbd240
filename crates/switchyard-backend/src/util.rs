//! Helpers both built-in backends use: argument and cursor checks, result shapes, errors.

use std::time::Duration;

use serde_json::{Map, Value, json};
use switchyard_protocol::jsonrpc::{ErrorObject, Request, code};

use crate::Context;

/// A text content block.
pub(crate) fn text(s: impl Into<String>) -> Value {
    json!({ "type": "text", "text": s.into() })
}

/// A successful `CallToolResult`.
pub(crate) fn tool_result(content: Vec<Value>) -> Value {
    json!({ "content": content })
}

/// A `CallToolResult` reporting the tool's own failure (`isError: true`).
pub(crate) fn tool_error(message: impl Into<String>) -> Value {
    json!({ "content": [text(message)], "isError": true })
}

/// `params.arguments` of a `tools/call` or `prompts/get`: absent means none; anything but an
/// object is a malformed request.
pub(crate) fn arguments(request: &Request) -> Result<Map<String, Value>, ErrorObject> {
    match request.params.as_ref().and_then(|p| p.get("arguments")) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(_) => Err(ErrorObject::invalid_params("`arguments` must be an object")),
    }
}

/// Lists fit in one page, so no cursor is ever handed out and any cursor is invalid.
pub(crate) fn no_cursor(request: &Request) -> Result<(), ErrorObject> {
    match request.params.as_ref().and_then(|p| p.get("cursor")) {
        None | Some(Value::Null) => Ok(()),
        Some(_) => Err(ErrorObject::invalid_params(
            "invalid cursor: every list fits in one page",
        )),
    }
}

/// The "resource not found" error of the session's protocol revision: `-32002` up to
/// 2025-11-25, `-32602` from 2026-07-28 (SEP-2164); `data.uri` names the resource either way.
pub(crate) fn resource_not_found(uri: &str, ctx: &Context) -> ErrorObject {
    let code = if ctx.session.protocol_version.as_str() >= "2026-07-28" {
        code::INVALID_PARAMS
    } else {
        code::RESOURCE_NOT_FOUND
    };
    ErrorObject::new(code, format!("Resource not found: {uri}")).with_data(json!({ "uri": uri }))
}

/// Waits `ms` milliseconds, or fails when the request is cancelled first.
pub(crate) async fn pause(ctx: &Context, ms: u64) -> Result<(), ErrorObject> {
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_millis(ms)) => Ok(()),
        _ = ctx.cancel.cancelled() => Err(ErrorObject::internal("request cancelled")),
    }
}

//! The diagnostic tools of the 2026-07-28 scenarios (`server-stateless`, SEP-2575, and the
//! custom-header scenario of SEP-2243). Listed in every era; they behave the same in each,
//! the node supplying the era's wire shape.

use serde_json::{Map, Value, json};
use switchyard_protocol::jsonrpc::ErrorObject;

use super::answers::{ask_field, ask_model, elicited, sampled};
use super::{require, text, tool_error, tool_result};
use crate::{Context, ListKind};

/// The tool whose `region` argument is mirrored into the `Mcp-Param-Region` header.
pub(super) const CUSTOM_HEADER: &str = "test_custom_header";

/// The tools, for `tools/list`: name, description, input schema.
pub(super) fn catalogue(no_arguments: fn() -> Value) -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "test_missing_capability",
            "Needs the sampling capability: without it, fails with -32021 naming sampling; \
             with it, asks the client's model (key capability_probe).",
            no_arguments(),
        ),
        (
            "test_streaming_elicitation",
            "Reports progress, then asks the user to confirm (key confirm) — in 2026-07-28 as \
             input_required, never as a request on the response stream.",
            no_arguments(),
        ),
        (
            "test_logging_tool",
            "Sends three log messages (the node drops them unless the request asked for a log \
             level), then returns.",
            no_arguments(),
        ),
        (
            "test_trigger_tool_change",
            "Announces notifications/tools/list_changed.",
            no_arguments(),
        ),
        (
            "test_trigger_prompt_change",
            "Announces notifications/prompts/list_changed.",
            no_arguments(),
        ),
        (
            CUSTOM_HEADER,
            "Echoes its region argument, which clients mirror into the Mcp-Param-Region header.",
            json!({
                "type": "object",
                "properties": {
                    "region": {
                        "type": "string",
                        "description": "Any region name; sent as the Mcp-Param-Region header too",
                        "x-mcp-header": "Region"
                    }
                },
                "required": ["region"]
            }),
        ),
    ]
}

/// `tools/call` of a diagnostic tool; `None` when `name` is not one.
pub(super) async fn call(
    name: &str,
    args: &Map<String, Value>,
    ctx: &Context,
) -> Option<Result<Value, ErrorObject>> {
    Some(match name {
        "test_missing_capability" => missing_capability(ctx).await,
        "test_streaming_elicitation" => streaming_elicitation(ctx).await,
        "test_logging_tool" => {
            for (level, data) in [
                ("info", "test_logging_tool started"),
                ("notice", "test_logging_tool working"),
                ("warning", "test_logging_tool finished"),
            ] {
                ctx.log(level, Some("everything"), json!(data)).await;
            }
            Ok(tool_result(vec![text("Logged three messages")]))
        }
        "test_trigger_tool_change" => {
            ctx.list_changed(ListKind::Tools);
            Ok(tool_result(vec![text("Announced a tools/list change")]))
        }
        "test_trigger_prompt_change" => {
            ctx.list_changed(ListKind::Prompts);
            Ok(tool_result(vec![text("Announced a prompts/list change")]))
        }
        CUSTOM_HEADER => Ok(match args.get("region") {
            Some(Value::String(r)) => tool_result(vec![text(format!("Region: {r}"))]),
            _ => tool_error("`region` must be a string"),
        }),
        _ => return None,
    })
}

async fn missing_capability(ctx: &Context) -> Result<Value, ErrorObject> {
    require(ctx, &["sampling"])?;
    let q = ask_model(
        "capability_probe",
        "Say hello to the conformance suite.",
        50,
    );
    let answer = ctx.request_keyed(&q.key, &q.method, q.params).await?;
    let reply = sampled("capability_probe", &answer)?;
    Ok(tool_result(vec![text(format!("LLM response: {reply}"))]))
}

/// Progress first (only with a progress token), then a confirmation when the client can be
/// asked; a client without elicitation gets the result without a question.
async fn streaming_elicitation(ctx: &Context) -> Result<Value, ErrorObject> {
    ctx.progress(0.0, Some(1.0), Some("About to ask for a confirmation"))
        .await;
    if !ctx.client_supports("elicitation") {
        return Ok(tool_result(vec![text(
            "Streaming elicitation skipped: the client does not support elicitation",
        )]));
    }
    let q = ask_field("confirm", "Continue the streaming test?", "ok", "boolean");
    let answer = ctx.request_keyed(&q.key, &q.method, q.params).await?;
    let action = match elicited("confirm", &answer)? {
        Some(_) => "accept",
        None => "decline",
    };
    ctx.progress(1.0, Some(1.0), Some("Answered")).await;
    Ok(tool_result(vec![text(format!(
        "Streaming elicitation completed: action={action}"
    ))]))
}

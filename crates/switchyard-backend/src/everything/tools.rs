//! The tool catalogue, and the tools that need nothing from the client.

use serde_json::{Value, json};
use switchyard_protocol::jsonrpc::{ErrorObject, Request};

use super::{
    PNG_1X1, WAV_SILENCE, arguments, diagnostics, interactive, pause, rounds, text, tool_error,
    tool_result,
};
use crate::Context;

/// The URI `test_trigger_resource_update` announces.
pub(super) const WATCHED: &str = "test://watched-resource";

/// An input schema for a tool that takes no arguments.
fn no_arguments() -> Value {
    json!({ "type": "object", "properties": {}, "required": [] })
}

/// An input schema with required string properties, each with a description.
fn strings(props: &[(&str, &str)]) -> Value {
    let properties: serde_json::Map<String, Value> = props
        .iter()
        .map(|(name, d)| {
            (
                (*name).to_owned(),
                json!({ "type": "string", "description": d }),
            )
        })
        .collect();
    let required: Vec<&str> = props.iter().map(|(n, _)| *n).collect();
    json!({ "type": "object", "properties": properties, "required": required })
}

/// The `inputSchema` of `json_schema_2020_12_tool`: it must reach the client intact.
pub(super) fn json_schema_2020_12() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {
            "address": {
                "$anchor": "addressDef",
                "type": "object",
                "properties": {
                    "street": { "type": "string" },
                    "city": { "type": "string" }
                }
            }
        },
        "properties": {
            "name": { "type": "string" },
            "address": { "$ref": "#/$defs/address" },
            "contactMethod": { "type": "string", "enum": ["phone", "email"] },
            "phone": { "type": "string" },
            "email": { "type": "string" }
        },
        "allOf": [ { "anyOf": [ { "required": ["phone"] }, { "required": ["email"] } ] } ],
        "if": {
            "properties": { "contactMethod": { "const": "phone" } },
            "required": ["contactMethod"]
        },
        "then": { "required": ["phone"] },
        "else": { "required": ["email"] },
        "additionalProperties": false
    })
}

/// Every tool, in a stable order. The first takes no arguments (header-validation probes call
/// the first listed tool with `arguments: {}`).
pub(super) fn catalogue() -> Vec<Value> {
    let tool = |name: &str, description: &str, schema: Value| json!({ "name": name, "description": description, "inputSchema": schema });
    let mut tools = session_era_tools(tool);
    tools.extend(
        diagnostics::catalogue(no_arguments)
            .into_iter()
            .map(|(name, description, schema)| tool(name, description, schema)),
    );
    tools.extend(
        rounds::catalogue()
            .into_iter()
            .map(|(suffix, description)| {
                tool(
                    &format!("{}{suffix}", rounds::PREFIX),
                    description,
                    no_arguments(),
                )
            }),
    );
    tools
}

/// The tools of the 2025 scenarios, `test_simple_text` first.
fn session_era_tools(tool: impl Fn(&str, &str, Value) -> Value) -> Vec<Value> {
    vec![
        tool(
            "test_simple_text",
            "Returns a simple text response.",
            no_arguments(),
        ),
        tool(
            "test_image_content",
            "Returns a 1x1 PNG image.",
            no_arguments(),
        ),
        tool(
            "test_audio_content",
            "Returns a short WAV clip (audio/wav).",
            no_arguments(),
        ),
        tool(
            "test_embedded_resource",
            "Returns an embedded text resource (test://embedded-resource).",
            no_arguments(),
        ),
        tool(
            "test_multiple_content_types",
            "Returns text, an image and an embedded resource in one result.",
            no_arguments(),
        ),
        tool(
            "test_error_handling",
            "Always fails: returns a result with isError set.",
            no_arguments(),
        ),
        tool(
            "test_tool_with_progress",
            "Reports progress 0, 50 and 100 of 100, about 50 ms apart, then returns.",
            no_arguments(),
        ),
        tool(
            "test_tool_with_logging",
            "Sends three info-level log messages, about 50 ms apart, then returns.",
            no_arguments(),
        ),
        tool(
            "test_sampling",
            "Asks the client's LLM to answer a prompt (sampling/createMessage).",
            strings(&[("prompt", "The prompt to send to the LLM")]),
        ),
        tool(
            "test_elicitation",
            "Asks the user for a username and an email address (elicitation/create).",
            strings(&[("message", "The message to show the user")]),
        ),
        tool(
            "test_elicitation_sep1034_defaults",
            "Elicits a form whose fields all carry default values (SEP-1034).",
            no_arguments(),
        ),
        tool(
            "test_elicitation_sep1330_enums",
            "Elicits a form using all five enum field styles (SEP-1330).",
            no_arguments(),
        ),
        tool(
            "test_reconnection",
            "Closes the response stream mid-call; the result arrives after the client resumes.",
            no_arguments(),
        ),
        tool(
            "test_trigger_resource_update",
            "Announces an update of test://watched-resource to its subscribers.",
            no_arguments(),
        ),
        tool(
            "json_schema_2020_12_tool",
            "Tool with JSON Schema 2020-12 features",
            json_schema_2020_12(),
        ),
        tool(
            "echo",
            "Returns its text argument (the benchmarks' tool).",
            strings(&[("text", "The text to echo back")]),
        ),
    ]
}

/// `tools/call`.
pub(super) async fn call(request: &Request, ctx: &Context) -> Result<Value, ErrorObject> {
    let name = request
        .param_str("name")
        .ok_or_else(|| ErrorObject::invalid_params("tools/call needs a string `name`"))?;
    let args = arguments(request)?;
    match name {
        "echo" => match args.get("text").and_then(Value::as_str) {
            Some(t) => Ok(tool_result(vec![text(t)])),
            None => Ok(tool_error("echo needs a string `text`")),
        },
        "test_simple_text" => Ok(tool_result(vec![text(
            "This is a simple text response for testing.",
        )])),
        "test_image_content" => Ok(tool_result(vec![image()])),
        "test_audio_content" => Ok(tool_result(vec![json!({
            "type": "audio", "data": WAV_SILENCE, "mimeType": "audio/wav"
        })])),
        "test_embedded_resource" => Ok(tool_result(vec![json!({
            "type": "resource",
            "resource": {
                "uri": "test://embedded-resource",
                "mimeType": "text/plain",
                "text": "This is an embedded resource content."
            }
        })])),
        "test_multiple_content_types" => Ok(tool_result(vec![
            text("Multiple content types test:"),
            image(),
            json!({
                "type": "resource",
                "resource": {
                    "uri": "test://mixed-content-resource",
                    "mimeType": "application/json",
                    "text": json!({ "test": "data", "value": 123 }).to_string()
                }
            }),
        ])),
        "test_error_handling" => Ok(tool_error(
            "This tool intentionally returns an error for testing",
        )),
        "test_tool_with_progress" => progress(ctx).await,
        "test_tool_with_logging" => logging(ctx).await,
        "test_sampling" => interactive::sampling(&args, ctx).await,
        "test_elicitation" => interactive::elicitation(&args, ctx).await,
        "test_elicitation_sep1034_defaults" => interactive::sep1034_defaults(ctx).await,
        "test_elicitation_sep1330_enums" => interactive::sep1330_enums(ctx).await,
        "test_reconnection" => reconnection(ctx).await,
        "test_trigger_resource_update" => {
            ctx.resource_updated(WATCHED);
            Ok(tool_result(vec![text(format!(
                "Announced an update of {WATCHED}"
            ))]))
        }
        "json_schema_2020_12_tool" => Ok(tool_result(vec![text(format!(
            "Received arguments: {}",
            Value::Object(args)
        ))])),
        other => match other.strip_prefix(rounds::PREFIX) {
            Some(suffix) => rounds::call(suffix, ctx).await,
            None => diagnostics::call(other, &args, ctx)
                .await
                .unwrap_or_else(|| {
                    Err(ErrorObject::invalid_params(format!(
                        "Unknown tool: {other}"
                    )))
                }),
        },
    }
}

fn image() -> Value {
    json!({ "type": "image", "data": PNG_1X1, "mimeType": "image/png" })
}

async fn progress(ctx: &Context) -> Result<Value, ErrorObject> {
    for (i, step) in [0.0, 50.0, 100.0].into_iter().enumerate() {
        if i > 0 {
            pause(ctx, 50).await?;
        }
        ctx.progress(step, Some(100.0), None).await;
    }
    Ok(tool_result(vec![text("Progress test completed (3 steps)")]))
}

async fn logging(ctx: &Context) -> Result<Value, ErrorObject> {
    let steps = [
        "Tool execution started",
        "Tool processing data",
        "Tool execution completed",
    ];
    for (i, step) in steps.into_iter().enumerate() {
        if i > 0 {
            pause(ctx, 50).await?;
        }
        ctx.log("info", Some("everything"), json!(step)).await;
    }
    Ok(tool_result(vec![text(
        "Logging test completed (3 messages)",
    )]))
}

/// Lets the transport send its priming event, asks it to close the stream, and answers some
/// time later so that the result can only reach the client through a resumed stream.
async fn reconnection(ctx: &Context) -> Result<Value, ErrorObject> {
    pause(ctx, 50).await?;
    ctx.close_stream();
    pause(ctx, 450).await?;
    Ok(tool_result(vec![text(
        "Reconnection test completed successfully",
    )]))
}

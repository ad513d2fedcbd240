//! Prompts, and `completion/complete` for their arguments and the resource template's.

use serde_json::{Map, Value, json};
use switchyard_protocol::jsonrpc::{ErrorObject, Request};

use super::{PNG_1X1, arguments, rounds};
use crate::Context;

/// Every prompt, for `prompts/list`.
pub(super) fn catalogue() -> Vec<Value> {
    let arg = |name: &str, description: &str| json!({ "name": name, "description": description, "required": true });
    vec![
        json!({
            "name": "test_simple_prompt",
            "description": "A simple prompt without arguments.",
        }),
        json!({
            "name": "test_prompt_with_arguments",
            "description": "A prompt that substitutes two arguments into its text.",
            "arguments": [arg("arg1", "First test argument"), arg("arg2", "Second test argument")],
        }),
        json!({
            "name": "test_prompt_with_embedded_resource",
            "description": "A prompt that embeds the resource named by its argument.",
            "arguments": [arg("resourceUri", "URI of the resource to embed")],
        }),
        json!({
            "name": "test_prompt_with_image",
            "description": "A prompt that includes an image.",
        }),
        json!({
            "name": rounds::PROMPT,
            "description": "Asks the user for context (key user_context) before it answers.",
        }),
    ]
}

/// A required string argument of a prompt.
fn required<'a>(args: &'a Map<String, Value>, key: &str) -> Result<&'a str, ErrorObject> {
    args.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| ErrorObject::invalid_params(format!("missing required argument `{key}`")))
}

fn user(content: Value) -> Value {
    json!({ "role": "user", "content": content })
}

fn user_text(text: String) -> Value {
    user(json!({ "type": "text", "text": text }))
}

/// `prompts/get`.
pub(super) async fn get(request: &Request, ctx: &Context) -> Result<Value, ErrorObject> {
    let name = request
        .param_str("name")
        .ok_or_else(|| ErrorObject::invalid_params("prompts/get needs a string `name`"))?;
    if name == rounds::PROMPT {
        return rounds::prompt(ctx).await;
    }
    let args = arguments(request)?;
    let (description, messages) = match name {
        "test_simple_prompt" => (
            "A simple prompt",
            vec![user_text("This is a simple prompt for testing.".into())],
        ),
        "test_prompt_with_arguments" => {
            let (a1, a2) = (required(&args, "arg1")?, required(&args, "arg2")?);
            (
                "A prompt with arguments",
                vec![user_text(format!(
                    "Prompt with arguments: arg1='{a1}', arg2='{a2}'"
                ))],
            )
        }
        "test_prompt_with_embedded_resource" => {
            let uri = required(&args, "resourceUri")?;
            (
                "A prompt with an embedded resource",
                vec![
                    user(json!({
                        "type": "resource",
                        "resource": {
                            "uri": uri,
                            "mimeType": "text/plain",
                            "text": "Embedded resource content for testing."
                        }
                    })),
                    user_text("Please process the embedded resource above.".into()),
                ],
            )
        }
        "test_prompt_with_image" => (
            "A prompt with an image",
            vec![
                user(json!({ "type": "image", "data": PNG_1X1, "mimeType": "image/png" })),
                user_text("Please analyze the image above.".into()),
            ],
        ),
        other => {
            return Err(ErrorObject::invalid_params(format!(
                "Unknown prompt: {other}"
            )));
        }
    };
    Ok(json!({ "description": description, "messages": messages }))
}

/// The candidate values of one completable argument, or `None` for an unknown reference.
fn candidates(reference: &Value, argument: &str) -> Result<&'static [&'static str], ErrorObject> {
    let kind = reference.get("type").and_then(Value::as_str);
    let known: &[&str] = match (kind, reference.get("name"), reference.get("uri")) {
        (Some("ref/prompt"), Some(Value::String(name)), _) => match name.as_str() {
            "test_prompt_with_arguments" => match argument {
                "arg1" => &["test", "testValue1", "test-argument-one", "example"],
                "arg2" => &["test", "testValue2", "test-argument-two", "sample"],
                _ => &[],
            },
            "test_prompt_with_embedded_resource" if argument == "resourceUri" => &[
                "test://static-text",
                "test://static-binary",
                "test://watched-resource",
                "test://template/123/data",
            ],
            "test_simple_prompt"
            | "test_prompt_with_embedded_resource"
            | "test_prompt_with_image"
            | rounds::PROMPT => &[],
            other => {
                return Err(ErrorObject::invalid_params(format!(
                    "Unknown prompt: {other}"
                )));
            }
        },
        (Some("ref/resource"), _, Some(Value::String(uri))) => match uri.as_str() {
            "test://template/{id}/data" if argument == "id" => &["1", "2", "3", "42", "123"],
            _ => &[],
        },
        _ => {
            return Err(ErrorObject::invalid_params(
                "`ref` must be a ref/prompt with a name or a ref/resource with a uri",
            ));
        }
    };
    Ok(known)
}

/// `completion/complete`: the candidates that start with the typed value.
pub(super) fn complete(request: &Request) -> Result<Value, ErrorObject> {
    let params = request.params.as_ref();
    let reference = params
        .and_then(|p| p.get("ref"))
        .ok_or_else(|| ErrorObject::invalid_params("completion/complete needs `ref`"))?;
    let argument = params.and_then(|p| p.get("argument"));
    let name = argument
        .and_then(|a| a.get("name"))
        .and_then(Value::as_str)
        .ok_or_else(|| ErrorObject::invalid_params("completion/complete needs `argument.name`"))?;
    let value = argument
        .and_then(|a| a.get("value"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let values: Vec<&str> = candidates(reference, name)?
        .iter()
        .copied()
        .filter(|c| c.starts_with(value))
        .collect();
    Ok(json!({
        "completion": { "values": values, "total": values.len(), "hasMore": false }
    }))
}

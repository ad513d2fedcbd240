//! The `client_summary` prompt, and completion of client emails.

use serde_json::{Value, json};
use switchyard_protocol::jsonrpc::{ErrorObject, Request};

use super::db::{self, BookingFilter};
use super::{Demo, arguments, internal, validate};

const CLIENT_SUMMARY: &str = "client_summary";

/// Every prompt, for `prompts/list`.
pub(super) fn catalogue() -> Vec<Value> {
    vec![json!({
        "name": CLIENT_SUMMARY,
        "title": "Client summary",
        "description": "Summarise a client and their bookings for the front desk.",
        "arguments": [ {
            "name": "client_email",
            "description": "The client's email address",
            "required": true
        } ]
    })]
}

/// `prompts/get`.
pub(super) async fn get(demo: &Demo, request: &Request) -> Result<Value, ErrorObject> {
    let name = request
        .param_str("name")
        .ok_or_else(|| ErrorObject::invalid_params("prompts/get needs a string `name`"))?;
    if name != CLIENT_SUMMARY {
        return Err(ErrorObject::invalid_params(format!(
            "Unknown prompt: {name}"
        )));
    }
    let args = arguments(request)?;
    let email = validate::required_str(&args, "client_email")
        .and_then(|e| validate::email(&e))
        .map_err(ErrorObject::invalid_params)?;
    let lookup = email.clone();
    let found = demo
        .db
        .call(move |c| {
            let Some(client) = db::client(c, &lookup)? else {
                return Ok(None);
            };
            let filter = BookingFilter {
                client_email: Some(client.email.clone()),
                ..Default::default()
            };
            Ok(Some((client, db::bookings(c, &filter)?)))
        })
        .await
        .map_err(internal)?;
    let (client, bookings) = found
        .ok_or_else(|| ErrorObject::invalid_params(format!("no client with email {email}")))?;
    let data = serde_json::to_string_pretty(&json!({ "client": client, "bookings": bookings }))
        .map_err(|e| internal(e.to_string()))?;
    let text = format!(
        "Write a short summary of this client for the front desk: who they are, how to reach \
         them, their booking history, and anything to prepare for their next visit.\n\n\
         ```json\n{data}\n```"
    );
    Ok(json!({
        "description": format!("Summary of {}", client.name),
        "messages": [ { "role": "user", "content": { "type": "text", "text": text } } ]
    }))
}

/// `completion/complete`: client emails for the prompt's `client_email` and the template's
/// `email`; nothing for other arguments.
pub(super) async fn complete(demo: &Demo, request: &Request) -> Result<Value, ErrorObject> {
    let params = request.params.as_ref();
    let reference = params
        .and_then(|p| p.get("ref"))
        .ok_or_else(|| ErrorObject::invalid_params("completion/complete needs `ref`"))?;
    let argument = params.and_then(|p| p.get("argument"));
    let arg_name = argument
        .and_then(|a| a.get("name"))
        .and_then(Value::as_str)
        .ok_or_else(|| ErrorObject::invalid_params("completion/complete needs `argument.name`"))?;
    let value = argument
        .and_then(|a| a.get("value"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let completes_emails = match reference.get("type").and_then(Value::as_str) {
        Some("ref/prompt") => {
            let prompt = reference.get("name").and_then(Value::as_str).unwrap_or("");
            if prompt != CLIENT_SUMMARY {
                return Err(ErrorObject::invalid_params(format!(
                    "Unknown prompt: {prompt}"
                )));
            }
            arg_name == "client_email"
        }
        Some("ref/resource") => {
            reference.get("uri").and_then(Value::as_str) == Some("clients://{email}")
                && arg_name == "email"
        }
        _ => {
            return Err(ErrorObject::invalid_params(
                "`ref` must be a ref/prompt or a ref/resource",
            ));
        }
    };
    let (values, total) = if completes_emails {
        demo.db
            .call(move |c| db::emails_with_prefix(c, &value, 100))
            .await
            .map_err(internal)?
    } else {
        (Vec::new(), 0)
    };
    Ok(json!({
        "completion": { "values": values, "total": total, "hasMore": total > values.len() }
    }))
}

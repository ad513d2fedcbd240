//! The conformance fixture: every tool, resource, prompt and completion the MCP conformance
//! suite (`@modelcontextprotocol/conformance`) exercises, in the session eras (2025-xx) and
//! in the stateless 2026-07-28 revision alike.
//!
//! Stateless by design: any node answers any request the same way, so a session's requests
//! may land anywhere. Resource "updates" are announced through the context, never stored.
//! Era differences (`resultType`, caching fields, multi round-trip requests, log filtering)
//! are the node's: a handler that asks the client does it through `ctx.request_keyed` /
//! `ctx.request_all` under fixed keys, so that it can be run again from the start with the
//! client's answers (see [`crate::Peer`]).
//!
//! # Layout
//!
//! - `tools`: the tool catalogue and the tools that return content, report progress, log, or
//!   drive the stream-closing hook.
//! - `interactive`: tools that ask the client (sampling, elicitation).
//! - `rounds`: the `test_input_required_result_*` tools and prompt (multi round-trip).
//! - `diagnostics`: the 2026-07-28 diagnostic tools (missing capability, streaming
//!   elicitation, logging, list-change triggers, the `x-mcp-header` tool).
//! - `answers`: questions to the client, and checked readings of its answers.
//! - `resources`: static resources, the `test://template/{id}/data` template and the
//!   subscribable `test://watched-resource`.
//! - `prompts`: prompts and `completion/complete`.

mod answers;
mod diagnostics;
mod interactive;
mod prompts;
mod resources;
mod rounds;
mod tools;

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use switchyard_protocol::jsonrpc::{ErrorObject, Request, code};
use switchyard_protocol::method::Method;

use crate::util::{arguments, no_cursor, pause, resource_not_found, text, tool_error, tool_result};
use crate::{Backend, Context, ServerInfo};

/// A 1×1 red PNG, base64.
pub(crate) const PNG_1X1: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";

/// Eight samples of 8 kHz, 8-bit mono silence as a WAV file, base64.
pub(crate) const WAV_SILENCE: &str =
    "UklGRiwAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQgAAACAgICAgICAgA==";

/// The `everything` backend.
#[derive(Debug, Default)]
pub struct Everything;

impl Everything {
    /// Builds the fixture.
    pub fn new() -> Self {
        Self
    }
}

#[async_trait]
impl Backend for Everything {
    fn info(&self) -> ServerInfo {
        ServerInfo {
            name: "switchyard-everything".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            title: Some("Switchyard conformance fixture".into()),
        }
    }

    fn capabilities(&self) -> Value {
        json!({
            "tools": { "listChanged": true },
            "resources": { "subscribe": true, "listChanged": true },
            "prompts": { "listChanged": true },
            "logging": {},
            "completions": {},
        })
    }

    fn instructions(&self) -> Option<String> {
        Some(
            "A test fixture: every tool, resource and prompt exists to exercise one part of \
             the MCP protocol."
                .into(),
        )
    }

    async fn handle(&self, request: Request, ctx: Context) -> Result<Value, ErrorObject> {
        match request.kind() {
            Some(Method::ToolsList) => {
                no_cursor(&request)?;
                Ok(json!({ "tools": tools::catalogue() }))
            }
            Some(Method::ToolsCall) => tools::call(&request, &ctx).await,
            Some(Method::ResourcesList) => {
                no_cursor(&request)?;
                Ok(json!({ "resources": resources::list() }))
            }
            Some(Method::ResourcesTemplatesList) => {
                no_cursor(&request)?;
                Ok(json!({ "resourceTemplates": resources::templates() }))
            }
            Some(Method::ResourcesRead) => resources::read(&request, &ctx),
            Some(Method::PromptsList) => {
                no_cursor(&request)?;
                Ok(json!({ "prompts": prompts::catalogue() }))
            }
            Some(Method::PromptsGet) => prompts::get(&request, &ctx).await,
            Some(Method::CompletionComplete) => prompts::complete(&request),
            _ => Err(ErrorObject::method_not_found(&request.method)),
        }
    }
}

/// Fails with `-32021` (`data.requiredCapabilities` naming each one) unless the client
/// declared every capability in `needed`.
fn require(ctx: &Context, needed: &[&str]) -> Result<(), ErrorObject> {
    let missing: Map<String, Value> = needed
        .iter()
        .filter(|c| !ctx.client_supports(c))
        .map(|c| ((*c).to_owned(), json!({})))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = missing.keys().map(String::as_str).collect();
    Err(ErrorObject::new(
        code::MISSING_CAPABILITY,
        format!("Missing required client capability: {}", names.join(", ")),
    )
    .with_data(json!({ "requiredCapabilities": missing })))
}

//! The demo application: the seed's clients and bookings, on an embedded SQLite database,
//! served over MCP the way the seed's Rails controller meant to.
//!
//! The database is created and seeded on first open; `:memory:` gives a private in-memory
//! one (tests). Every node opening the same file sees the same data; changes are announced
//! through [`Context::resource_updated`] and [`Context::list_changed`] so that every node's
//! subscribers hear about them.
//!
//! # Layout
//!
//! - `db`: schema, seed and queries (blocking, run on tokio's blocking pool).
//! - `validate`: tool input checks (emails, RFC 3339 times, lengths).
//! - `tools`: `get_client`, `list_bookings`, `create_booking`, `cancel_booking` (which asks
//!   the user to confirm: `tools/cancel`), `create_client`, `generate_report`.
//! - `resources`: `clients://all` and the `clients://{email}` template.
//! - `prompts`: the `client_summary` prompt and email completion.

mod db;
mod prompts;
mod resources;
mod tools;
mod validate;

use async_trait::async_trait;
use serde_json::{Value, json};
use switchyard_protocol::jsonrpc::{ErrorObject, Request};
use switchyard_protocol::method::Method;

use crate::util::{arguments, no_cursor, pause, resource_not_found, tool_error};
use crate::{Backend, Context, ServerInfo};

/// The URI of the client list.
const ALL_CLIENTS: &str = "clients://all";

/// The `demo` backend.
#[derive(Debug, Clone)]
pub struct Demo {
    db: db::Db,
}

impl Demo {
    /// Opens (creating and seeding on first run) the database at `path`; `:memory:` opens a
    /// private in-memory database.
    pub fn open(path: &std::path::Path) -> Result<Self, rusqlite::Error> {
        Ok(Self {
            db: db::Db::open(path)?,
        })
    }
}

#[async_trait]
impl Backend for Demo {
    fn info(&self) -> ServerInfo {
        ServerInfo {
            name: "switchyard-demo".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            title: Some("Clients & bookings (Switchyard demo)".into()),
        }
    }

    fn capabilities(&self) -> Value {
        json!({
            "tools": {},
            "resources": { "subscribe": true, "listChanged": true },
            "prompts": {},
            "logging": {},
            "completions": {},
        })
    }

    fn instructions(&self) -> Option<String> {
        Some(
            "A small booking system. Look clients up with get_client (by email), list \
             bookings with list_bookings, book with create_booking (times in RFC 3339 with an \
             offset). Read clients://all for every client."
                .into(),
        )
    }

    async fn handle(&self, request: Request, ctx: Context) -> Result<Value, ErrorObject> {
        match request.kind() {
            Some(Method::ToolsList) => {
                no_cursor(&request)?;
                Ok(json!({ "tools": tools::catalogue() }))
            }
            Some(Method::ToolsCall) => tools::call(self, &request, &ctx).await,
            Some(Method::ResourcesList) => {
                no_cursor(&request)?;
                resources::list(self).await
            }
            Some(Method::ResourcesTemplatesList) => {
                no_cursor(&request)?;
                Ok(json!({ "resourceTemplates": resources::templates() }))
            }
            Some(Method::ResourcesRead) => resources::read(self, &request, &ctx).await,
            Some(Method::PromptsList) => {
                no_cursor(&request)?;
                Ok(json!({ "prompts": prompts::catalogue() }))
            }
            Some(Method::PromptsGet) => prompts::get(self, &request).await,
            Some(Method::CompletionComplete) => prompts::complete(self, &request).await,
            _ => Err(ErrorObject::method_not_found(&request.method)),
        }
    }
}

/// The URI of one client's resource.
fn client_uri(email: &str) -> String {
    format!("clients://{email}")
}

/// A `CallToolResult` carrying `value` both as `structuredContent` and as JSON text (for
/// clients older than 2025-06-18).
fn structured(value: Value) -> Value {
    let text = serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string());
    json!({ "content": [ { "type": "text", "text": text } ], "structuredContent": value })
}

/// An internal error whose detail goes to the log, not to the client.
fn internal(e: impl std::fmt::Display) -> ErrorObject {
    tracing::error!(error = %e, "demo backend failure");
    ErrorObject::internal("internal error in the demo backend")
}

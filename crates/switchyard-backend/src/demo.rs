//! The demo application (placeholder until the fixture lands).
use async_trait::async_trait;
use serde_json::{Value, json};
use switchyard_protocol::jsonrpc::{ErrorObject, Request};

use crate::{Backend, Context, ServerInfo};

/// The `demo` backend.
#[derive(Debug, Default)]
pub struct Demo;

impl Demo {
    /// Builds the fixture.
    pub fn new() -> Self {
        Self
    }
}

#[async_trait]
impl Backend for Demo {
    fn info(&self) -> ServerInfo {
        ServerInfo {
            name: "switchyard-demo".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            title: None,
        }
    }
    fn capabilities(&self) -> Value {
        json!({})
    }
    async fn handle(&self, request: Request, _ctx: Context) -> Result<Value, ErrorObject> {
        Err(ErrorObject::method_not_found(&request.method))
    }
}

impl Demo {
    /// Opens (creating and seeding on first run) the database at `path`.
    pub fn open(_path: &std::path::Path) -> Result<Self, rusqlite::Error> {
        Ok(Self)
    }
}

//! The conformance fixture (placeholder until the fixture lands).
use async_trait::async_trait;
use serde_json::{Value, json};
use switchyard_protocol::jsonrpc::{ErrorObject, Request};

use crate::{Backend, Context, ServerInfo};

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

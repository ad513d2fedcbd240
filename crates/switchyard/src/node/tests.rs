//! The tools' `x-mcp-header` cache: a failed `tools/list` is not kept, and
//! `tools/list_changed` makes the node read the list again.

use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use serde_json::{Value, json};
use switchyard_backend::{Backend, Context, ServerInfo};
use switchyard_protocol::jsonrpc::{ErrorObject, Request};
use switchyard_state::memory::{MemoryBus, MemoryEventLog, MemorySessionStore};

use super::*;

/// `tools/list` fails on its first call; later it names tool `t` with one header, `H<n>`,
/// `n` counting the lists served.
#[derive(Default)]
struct Flaky {
    lists: AtomicUsize,
}

#[async_trait]
impl Backend for Flaky {
    fn info(&self) -> ServerInfo {
        ServerInfo {
            name: "flaky".into(),
            version: "0".into(),
            title: None,
        }
    }

    fn capabilities(&self) -> Value {
        json!({ "tools": { "listChanged": true } })
    }

    async fn handle(&self, _request: Request, _ctx: Context) -> Result<Value, ErrorObject> {
        let n = self.lists.fetch_add(1, Ordering::SeqCst);
        if n == 0 {
            return Err(ErrorObject::internal("not ready yet"));
        }
        let schema = json!({"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": format!("H{n}")}
        }});
        Ok(json!({ "tools": [ { "name": "t", "inputSchema": schema } ] }))
    }
}

fn node(backend: Arc<Flaky>) -> Arc<Node> {
    let ttl = std::time::Duration::from_secs(60);
    Node::new(
        Config::default(),
        backend,
        Arc::new(MemorySessionStore::new(ttl)),
        Arc::new(MemoryEventLog::with_idle_ttl(100, ttl)),
        Arc::new(MemoryBus::new(16)),
    )
}

fn names(headers: &[(String, Vec<String>)]) -> Vec<&str> {
    headers.iter().map(|(h, _)| h.as_str()).collect()
}

#[tokio::test]
async fn a_failed_list_is_retried_and_list_changed_reads_again() {
    let backend = Arc::new(Flaky::default());
    let node = node(backend.clone());
    assert!(
        node.param_headers("t").await.is_empty(),
        "the first list failed"
    );
    assert_eq!(names(&node.param_headers("t").await), ["h1"], "read again");
    assert_eq!(names(&node.param_headers("t").await), ["h1"], "and kept");
    assert_eq!(backend.lists.load(Ordering::SeqCst), 2);
    let changed = Envelope::ListChanged {
        kind: "tools".into(),
    };
    node.broadcast(changed).await.expect("broadcast");
    assert_eq!(
        names(&node.param_headers("t").await),
        ["h2"],
        "after list_changed"
    );
    node.changes.list_changed(ListKind::Tools);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while names(&node.param_headers("t").await) != ["h3"] {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the backend's own list_changed did not make the node read the list again"
        );
        tokio::task::yield_now().await;
    }
}

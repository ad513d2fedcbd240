//! What happens to a notification an upstream sends while answering a request.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;
use switchyard_backend::{Context, ListKind};
use switchyard_protocol::jsonrpc::Notification;
use switchyard_protocol::method::Method;

/// Relays `n` from an upstream: a change notice (`notifications/resources/updated`,
/// `notifications/*/list_changed`) concerns every client, so it goes to the node's fan-out
/// (logged, to every subscribed session on every node, applied once each); anything else
/// (progress, log messages) belongs to the request and goes on its stream.
/// A `list_changed` also bumps `lists`, so this node's federated catalog is read again.
pub(crate) async fn relay(ctx: &Context, n: Notification, lists: &ListGeneration) {
    if n.kind().and_then(Method::changed_list).is_some() {
        lists.bump();
    }
    match n.kind() {
        Some(Method::NotificationsResourcesUpdated) => {
            if let Some(uri) = n
                .params
                .as_ref()
                .and_then(|p| p.get("uri"))
                .and_then(Value::as_str)
            {
                ctx.resource_updated(uri);
            }
        }
        Some(Method::NotificationsToolsListChanged) => ctx.list_changed(ListKind::Tools),
        Some(Method::NotificationsPromptsListChanged) => ctx.list_changed(ListKind::Prompts),
        Some(Method::NotificationsResourcesListChanged) => ctx.list_changed(ListKind::Resources),
        _ => {
            ctx.notify(&n.method, n.params.map_or(Value::Null, Value::Object))
                .await
        }
    }
}

/// Counts the `list_changed` notices this node's upstreams sent: the federation reads its
/// members' lists again when it moved.
#[derive(Debug, Default)]
pub struct ListGeneration(AtomicU64);

impl ListGeneration {
    /// The current count.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    fn bump(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use serde_json::json;
    use switchyard_backend::{Changes, NoPeer, SessionView};
    use switchyard_protocol::jsonrpc::Message;

    use super::*;

    #[derive(Default)]
    struct Recorded(Mutex<Vec<String>>);

    impl Changes for Recorded {
        fn resource_updated(&self, uri: &str) {
            self.0.lock().expect("lock").push(format!("updated {uri}"));
        }
        fn list_changed(&self, kind: ListKind) {
            self.0.lock().expect("lock").push(format!("{kind:?}"));
        }
    }

    #[tokio::test]
    async fn change_notices_fan_out_and_the_rest_goes_on_the_stream() {
        let changes = Arc::new(Recorded::default());
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);
        let ctx = Context::new(
            SessionView::default(),
            tx,
            Arc::new(NoPeer),
            changes.clone(),
        );
        let lists = ListGeneration::default();
        let note = |m: &str, p: Value| Notification::new(m, p.as_object().cloned());
        relay(
            &ctx,
            note("notifications/tools/list_changed", json!({})),
            &lists,
        )
        .await;
        relay(
            &ctx,
            note("notifications/resources/updated", json!({"uri": "a://b"})),
            &lists,
        )
        .await;
        relay(
            &ctx,
            note(
                "notifications/progress",
                json!({"progressToken": 1, "progress": 1}),
            ),
            &lists,
        )
        .await;
        assert_eq!(lists.get(), 1, "list_changed moves the generation");
        assert_eq!(
            *changes.0.lock().expect("lock"),
            ["Tools".to_owned(), "updated a://b".to_owned()]
        );
        match rx.try_recv() {
            Ok(Message::Notification(n)) => assert_eq!(n.method, "notifications/progress"),
            other => panic!("progress should go on the stream, got {other:?}"),
        }
        assert!(rx.try_recv().is_err(), "nothing else on the stream");
    }
}

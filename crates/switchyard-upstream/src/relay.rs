//! What happens to a notification an upstream sends while answering a request.

use serde_json::Value;
use switchyard_backend::{Context, ListKind};
use switchyard_protocol::jsonrpc::Notification;
use switchyard_protocol::method::Method;

/// Relays `n` from an upstream: a change notice (`notifications/resources/updated`,
/// `notifications/*/list_changed`) concerns every client, so it goes to the node's fan-out
/// (logged, to every subscribed session on every node, applied once each); anything else
/// (progress, log messages) belongs to the request and goes on its stream.
pub(crate) async fn relay(ctx: &Context, n: Notification) {
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

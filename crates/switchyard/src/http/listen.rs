//! `subscriptions/listen` (2026-07-28): a long-lived POST response that acknowledges the
//! client's filter, then forwards the opted-in change notices published on any node, each
//! tagged with the subscription id.

use std::sync::Arc;

use actix_web::HttpResponse;
use futures::StreamExt;
use serde_json::{Map, Value, json};
use switchyard_protocol::jsonrpc::{ErrorObject, Message, Notification, Request, Response};
use switchyard_protocol::method::Method;
use switchyard_protocol::sse::Event;
use switchyard_protocol::stateless;
use switchyard_state::Delivery;

use crate::node::Node;
use switchyard_protocol::envelope::{BROADCAST, Envelope};

/// What a `subscriptions/listen` client opted into, as far as the backend can honour it.
#[derive(Debug, Default)]
struct Filter {
    tools: bool,
    prompts: bool,
    resources: bool,
    uris: Vec<String>,
}

impl Filter {
    fn agreed(node: &Node, params: Option<&Map<String, Value>>) -> Filter {
        let asked = params
            .and_then(|p| p.get("notifications"))
            .cloned()
            .unwrap_or_default();
        let caps = node.backend.capabilities();
        let flag = |k: &str| asked.get(k).and_then(Value::as_bool).unwrap_or(false);
        let cap = |a: &str, b: &str| {
            caps.get(a)
                .and_then(|c| c.get(b))
                .and_then(Value::as_bool)
                .unwrap_or(false)
        };
        let uris = if cap("resources", "subscribe") {
            asked
                .get("resourceSubscriptions")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        Filter {
            tools: flag("toolsListChanged") && cap("tools", "listChanged"),
            prompts: flag("promptsListChanged") && cap("prompts", "listChanged"),
            resources: flag("resourcesListChanged") && cap("resources", "listChanged"),
            uris,
        }
    }

    fn to_value(&self) -> Value {
        let mut m = Map::new();
        for (k, on) in [
            ("toolsListChanged", self.tools),
            ("promptsListChanged", self.prompts),
            ("resourcesListChanged", self.resources),
        ] {
            if on {
                m.insert(k.into(), json!(true));
            }
        }
        if !self.uris.is_empty() {
            m.insert("resourceSubscriptions".into(), json!(self.uris));
        }
        Value::Object(m)
    }

    /// The notification for a change notice, if this filter wants it.
    fn notification(&self, env: Envelope) -> Option<(Method, Map<String, Value>)> {
        match env {
            Envelope::ListChanged { kind } => {
                let method = Method::list_changed(&kind)?;
                let on = match method {
                    Method::NotificationsToolsListChanged => self.tools,
                    Method::NotificationsPromptsListChanged => self.prompts,
                    _ => self.resources,
                };
                on.then(|| (method, Map::new()))
            }
            Envelope::ResourceUpdated { uri } if self.uris.contains(&uri) => {
                let mut p = Map::new();
                p.insert("uri".into(), json!(uri));
                Some((Method::NotificationsResourcesUpdated, p))
            }
            _ => None,
        }
    }
}

/// `subscriptions/listen`: acknowledges, then forwards the opted-in change notices
/// published on any node, each tagged with the subscription id.
///
/// Like a GET stream, the response body is the listening itself: actix-web polls it while the
/// client reads and drops it (and with it the subscription) when the client goes — no task
/// and no channel per listener.
/// `slot` is the node's stream slot the listener holds while it lasts.
pub async fn listen(node: &Arc<Node>, r: Request, slot: crate::limits::Slot) -> HttpResponse {
    let filter = Filter::agreed(node, r.params.as_ref());
    let sub_id = serde_json::to_value(&r.id).unwrap_or(Value::Null);
    let tag = move |mut params: Map<String, Value>| {
        let mut meta = Map::new();
        meta.insert(stateless::META_SUBSCRIPTION_ID.into(), sub_id.clone());
        params.insert("_meta".into(), Value::Object(meta));
        params
    };
    let event = |m: Message| Event::message(m.to_json()).to_bytes();
    let sub = match node.bus.subscribe(BROADCAST).await {
        Ok(s) => s,
        Err(e) => {
            let err = Response::error(
                Some(r.id),
                ErrorObject::internal(format!("unavailable: {e}")),
            );
            let once = futures::stream::iter([event(Message::Response(err))]);
            return super::sse_stream(node, once, crate::health::Ends::WithIdle);
        }
    };
    let mut ack = Map::new();
    ack.insert("notifications".into(), filter.to_value());
    let ack = Notification::new(
        Method::NotificationsSubscriptionsAcknowledged,
        Some(tag(ack)),
    );
    let first = futures::stream::iter([event(Message::Notification(ack))]);
    let open =
        crate::telemetry::metrics::OpenStream::new(crate::telemetry::metrics::StreamKind::Listen);
    let notices = futures::stream::unfold(
        (sub, filter, tag, open),
        move |(mut sub, filter, tag, open)| async move {
            loop {
                match sub.next().await? {
                    Delivery::Message(p) => {
                        let notice = Envelope::parse(&p)
                            .map(Envelope::unwrap_broadcast)
                            .and_then(|e| filter.notification(e));
                        if let Some((method, params)) = notice {
                            let n = Notification::new(method, Some(tag(params)));
                            return Some((
                                event(Message::Notification(n)),
                                (sub, filter, tag, open),
                            ));
                        }
                    }
                    // Change notices are hints to re-list; one missed in a gap has no log here.
                    Delivery::Gap => {}
                }
            }
        },
    );
    super::sse_stream(
        node,
        crate::limits::hold(Box::pin(first.chain(notices)), slot),
        crate::health::Ends::WithIdle,
    )
}

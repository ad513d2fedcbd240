//! The push API: applications behind the gateway send server-initiated messages to a
//! session, or to every session, through any node.
//!
//! - `POST /admin/v1/sessions/{id}/messages` — body: one JSON-RPC notification. It is
//!   appended to the session's standalone stream (the GET stream, or the `/sse` stream of
//!   HTTP+SSE) before the answer, so it is never lost: a client resuming that stream with
//!   `Last-Event-ID` on any node receives it. 202 with `{"id": "<event id>"}`; 404 for an
//!   unknown session; 409 when the session never opened a standalone stream.
//! - `POST /admin/v1/broadcast` — body: one JSON-RPC notification for every session.
//!   `notifications/resources/updated` reaches only the sessions subscribed to its `uri`
//!   (and `subscriptions/listen` streams that asked for it); `notifications/*/list_changed`
//!   reaches every session and every listen stream that opted in; anything else reaches
//!   every session's standalone stream. It is logged before the answer (202 with
//!   `{"seq": n}`, its number in the broadcast log): every session whose standalone stream
//!   is open, or is resumed later, receives it exactly once.
//!
//! Both require `Authorization: Bearer <admin.token>`; with no token configured the API
//! does not exist (404).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;
use switchyard_protocol::jsonrpc::{Body, Message};
use switchyard_protocol::method::Method;

use super::{HttpError, NodeData, Refusal};
use switchyard_protocol::envelope::Envelope;

/// Registers the admin routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/admin/v1/sessions/{id}/messages")
            .route(web::post().to(session_message))
            .default_service(web::to(|| async {
                Err::<HttpResponse, _>(HttpError::method_not_allowed("POST"))
            })),
    )
    .service(
        web::resource("/admin/v1/broadcast")
            .route(web::post().to(broadcast))
            .default_service(web::to(|| async {
                Err::<HttpResponse, _>(HttpError::method_not_allowed("POST"))
            })),
    );
}

fn authorize(req: &HttpRequest, token: &str) -> Result<(), HttpError> {
    if token.is_empty() {
        return Err(Refusal::AdminDisabled.into());
    }
    let given = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // Constant time, and over digests so that not even the token's length shows.
    let same = token_matches(given.as_bytes(), token.as_bytes());
    if same {
        return Ok(());
    }
    Err(Refusal::Unauthorized.into())
}

/// Whether `given` is `token`, compared in constant time (`subtle`) over their SHA-256
/// digests.
pub fn token_matches(given: &[u8], token: &[u8]) -> bool {
    use sha2::Digest;
    use subtle::ConstantTimeEq;
    let (a, b) = (sha2::Sha256::digest(given), sha2::Sha256::digest(token));
    bool::from(a.as_slice().ct_eq(b.as_slice()))
}

async fn notification(
    req: &HttpRequest,
    payload: web::Payload,
    node: &NodeData,
) -> Result<Message, HttpError> {
    authorize(req, &node.config.admin.token)?;
    super::check_json_body(req)?;
    let body = super::read_message(payload, node).await?;
    match body {
        Body::Single(Ok(m @ Message::Notification(_))) => Ok(m),
        Body::Single(Err(invalid)) => Err(HttpError::bad_request(invalid.reason)),
        _ => Err(HttpError::bad_request(
            "Bad Request: the body must be one JSON-RPC notification",
        )),
    }
}

async fn session_message(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    node: NodeData,
) -> Result<HttpResponse, HttpError> {
    let message = notification(&req, payload, &node).await?;
    let session = node
        .sessions
        .get(&path.into_inner())
        .await?
        .ok_or_else(HttpError::session_not_found)?;
    let Some(stream) = session.get_stream.as_deref().and_then(|s| s.parse().ok()) else {
        return Err(Refusal::NoStream.into());
    };
    let (id, _) = node.emit(&session, stream, &message).await?;
    Ok(HttpResponse::Accepted().json(json!({ "id": id })))
}

async fn broadcast(
    req: HttpRequest,
    payload: web::Payload,
    node: NodeData,
) -> Result<HttpResponse, HttpError> {
    let Message::Notification(n) = notification(&req, payload, &node).await? else {
        return Err(HttpError::bad_request(
            "Bad Request: expected a notification",
        ));
    };
    let uri = n
        .params
        .as_ref()
        .and_then(|p| p.get("uri"))
        .and_then(|u| u.as_str());
    let env = match (n.kind(), uri) {
        (Some(Method::NotificationsResourcesUpdated), Some(uri)) => Envelope::ResourceUpdated {
            uri: uri.to_owned(),
        },
        (Some(m), _) if m.changed_list().is_some() => Envelope::ListChanged {
            kind: m.changed_list().unwrap_or_default().to_owned(),
        },
        _ => Envelope::Deliver {
            data: Message::Notification(n).to_json(),
        },
    };
    let seq = node.broadcast(env).await?;
    Ok(HttpResponse::Accepted().json(json!({ "seq": seq })))
}

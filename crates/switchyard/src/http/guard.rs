//! The checks every request passes before routing: the connection's per-IP count
//! (`limits.max_connections_per_ip`), the header limits (`limits.max_headers`,
//! `limits.max_header_bytes`), and — on the MCP endpoints — who is asking (`auth.mode`,
//! [`crate::auth`]). actix-http's own ceilings (96 header lines, a 128 KiB head)
//! are fixed in the published crate; these configurable, lower ones are enforced here
//! instead of growing the vendored fork.

use std::any::Any;
use std::net::IpAddr;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Extensions, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, ResponseError, web};

use super::{HttpError, NodeData, Refusal};
use crate::limits::{ConnSlot, Limits};

/// The address of the push API's own listener (`admin.bind`), if it has one.
#[derive(Debug, Clone, Copy)]
pub struct AdminListener(pub Option<std::net::SocketAddr>);

/// Whether `req` asks for something its listener does not serve: with `admin.bind`, the push
/// API only on that listener, and nothing else there.
fn wrong_listener(req: &ServiceRequest) -> bool {
    let Some(AdminListener(Some(admin))) = req
        .app_data::<web::Data<AdminListener>>()
        .map(|d| *d.get_ref())
    else {
        return false;
    };
    let on_admin = req.app_config().local_addr() == admin;
    on_admin != req.path().starts_with("/admin/")
}

/// The client's IP as [`Limits::client_ip`] judged it, in the request's extensions.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

/// `HttpServer::on_connect`: counts the connection against its peer's IP and keeps the
/// guard in the connection's data, so the count goes down when the connection closes.
pub fn on_connect(
    limits: &Arc<Limits>,
) -> impl Fn(&dyn Any, &mut Extensions) + Send + Sync + 'static {
    let limits = Arc::clone(limits);
    move |conn, ext| {
        let peer = conn
            .downcast_ref::<actix_web::rt::net::TcpStream>()
            .and_then(|s| s.peer_addr().ok());
        if let Some(slot) = peer.and_then(|p| limits.connection(p.ip())) {
            ext.insert(slot);
        }
    }
}

/// The middleware: refuses what breaks a limit, through the one refusal mapping.
pub async fn guard<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    let Some(node) = req.app_data::<NodeData>().cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    let limits = &node.limits;
    if let Some(peer) = req.peer_addr() {
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok());
        let ip = limits.client_ip(peer.ip(), forwarded);
        req.extensions_mut().insert(ClientIp(ip));
    }
    if wrong_listener(&req) {
        let response = HttpError::from(Refusal::NotHere).error_response();
        return Ok(req.into_response(response).map_into_right_body());
    }
    if let Some(refusal) = check(&req, limits) {
        let response = HttpError::from(refusal).error_response();
        return Ok(req.into_response(response).map_into_right_body());
    }
    if matches!(req.path(), "/mcp" | "/sse" | "/messages") {
        let authorization = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .map(|v| v.as_bytes());
        match node.auth.authenticate(authorization) {
            Ok(principal) => {
                let ip = req.extensions().get::<ClientIp>().map(|c| c.0);
                if let Err(refused) = limits.rate(ip, &principal.name) {
                    let response = refused.error_response();
                    return Ok(req.into_response(response).map_into_right_body());
                }
                req.extensions_mut().insert(principal);
            }
            Err(refused) => {
                let response = refused.error_response();
                return Ok(req.into_response(response).map_into_right_body());
            }
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

fn check(req: &ServiceRequest, limits: &Limits) -> Option<Refusal> {
    if let Some(slot) = req.conn_data::<ConnSlot>()
        && slot.over
    {
        limits.refusals.warn(&format!(
            "connection from {} refused: limits.max_connections_per_ip = {}",
            slot.ip, slot.max
        ));
        return Some(Refusal::TooManyConnections { max: slot.max });
    }
    let cfg = &limits.config;
    let count = req.headers().len();
    if count > cfg.max_headers {
        limits.refusals.warn(&format!(
            "request with {count} headers refused: limits.max_headers"
        ));
        return Some(Refusal::HeadersTooLarge {
            setting: "limits.max_headers",
            message: format!(
                "{count} header lines; at most {} are accepted",
                cfg.max_headers
            ),
        });
    }
    let bytes: usize = req
        .headers()
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len())
        .sum();
    if bytes > cfg.max_header_bytes {
        limits.refusals.warn(&format!(
            "request with {bytes} bytes of headers refused: limits.max_header_bytes"
        ));
        return Some(Refusal::HeadersTooLarge {
            setting: "limits.max_header_bytes",
            message: format!(
                "{bytes} bytes of headers; at most {} are accepted",
                cfg.max_header_bytes
            ),
        });
    }
    None
}

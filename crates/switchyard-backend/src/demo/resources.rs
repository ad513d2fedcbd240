//! Resources: `clients://all` and one `clients://{email}` per client.

use serde_json::{Value, json};
use switchyard_protocol::jsonrpc::{ErrorObject, Request};

use super::db::{self, BookingFilter};
use super::{ALL_CLIENTS, Demo, client_uri, internal, resource_not_found};
use crate::Context;

/// The `clients://{email}` template, for `resources/templates/list`.
pub(super) fn templates() -> Vec<Value> {
    vec![json!({
        "uriTemplate": "clients://{email}",
        "name": "client",
        "title": "Client by email",
        "description": "One client, with every booking, as JSON.",
        "mimeType": "application/json"
    })]
}

/// `resources/list`: the client list, then each client.
pub(super) async fn list(demo: &Demo) -> Result<Value, ErrorObject> {
    let clients = demo.db.call(|c| db::clients(c)).await.map_err(internal)?;
    let mut resources = vec![json!({
        "uri": ALL_CLIENTS,
        "name": "clients",
        "title": "All clients",
        "description": "Every client with their booking count and next booking, as JSON.",
        "mimeType": "application/json"
    })];
    resources.extend(clients.into_iter().map(|c| {
        json!({
            "uri": client_uri(&c.email),
            "name": c.email,
            "title": c.name,
            "description": format!("{} and their bookings, as JSON.", c.name),
            "mimeType": "application/json"
        })
    }));
    Ok(json!({ "resources": resources }))
}

/// `resources/read`.
pub(super) async fn read(
    demo: &Demo,
    request: &Request,
    ctx: &Context,
) -> Result<Value, ErrorObject> {
    let uri = request
        .param_str("uri")
        .ok_or_else(|| ErrorObject::invalid_params("resources/read needs a string `uri`"))?;
    let body = if uri == ALL_CLIENTS {
        let all = demo
            .db
            .call(|c| db::client_summaries(c))
            .await
            .map_err(internal)?;
        json!({ "clients": all })
    } else {
        let email = uri
            .strip_prefix("clients://")
            .and_then(percent_decode)
            .ok_or_else(|| resource_not_found(uri, ctx))?;
        let found = demo
            .db
            .call(move |c| {
                let Some(client) = db::client(c, &email)? else {
                    return Ok(None);
                };
                let filter = BookingFilter {
                    client_email: Some(client.email.clone()),
                    ..Default::default()
                };
                Ok(Some((client, db::bookings(c, &filter)?)))
            })
            .await
            .map_err(internal)?;
        let (client, bookings) = found.ok_or_else(|| resource_not_found(uri, ctx))?;
        json!({ "client": client, "bookings": bookings })
    };
    let text = serde_json::to_string_pretty(&body).map_err(|e| internal(e.to_string()))?;
    Ok(json!({
        "contents": [ { "uri": uri, "mimeType": "application/json", "text": text } ]
    }))
}

/// Decodes `%XX` escapes (clients may escape the `@` of `clients://{email}`); `None` when an
/// escape is malformed or the result is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn decodes_escapes() {
        assert_eq!(
            percent_decode("ada%40example.com").as_deref(),
            Some("ada@example.com")
        );
        assert_eq!(
            percent_decode("ada@example.com").as_deref(),
            Some("ada@example.com")
        );
        assert_eq!(percent_decode("ada%4"), None);
        assert_eq!(percent_decode("ada%zz"), None);
        assert_eq!(percent_decode("%ff"), None);
        assert_eq!(percent_decode("%+f"), None);
    }
}

//! Resources: two static ones, a template, and one clients may subscribe to.

use serde_json::{Value, json};
use switchyard_protocol::jsonrpc::{ErrorObject, Request};

use super::tools::WATCHED;
use super::{PNG_1X1, resource_not_found};
use crate::Context;

const STATIC_TEXT: &str = "test://static-text";
const STATIC_BINARY: &str = "test://static-binary";
const TEMPLATE_PREFIX: &str = "test://template/";
const TEMPLATE_SUFFIX: &str = "/data";

/// The direct resources, for `resources/list`.
pub(super) fn list() -> Vec<Value> {
    vec![
        json!({
            "uri": STATIC_TEXT,
            "name": "static-text",
            "title": "Static text",
            "description": "A plain-text resource whose content never changes.",
            "mimeType": "text/plain"
        }),
        json!({
            "uri": STATIC_BINARY,
            "name": "static-binary",
            "title": "Static binary",
            "description": "A 1x1 PNG image, read as a base64 blob.",
            "mimeType": "image/png"
        }),
        json!({
            "uri": WATCHED,
            "name": "watched-resource",
            "title": "Watched resource",
            "description": "A resource clients may subscribe to; the \
                            test_trigger_resource_update tool announces updates of it.",
            "mimeType": "text/plain"
        }),
    ]
}

/// The resource templates, for `resources/templates/list`.
pub(super) fn templates() -> Vec<Value> {
    vec![json!({
        "uriTemplate": "test://template/{id}/data",
        "name": "template-data",
        "title": "Data by id",
        "description": "JSON data for any id; the id is substituted into the content.",
        "mimeType": "application/json"
    })]
}

/// `resources/read`.
pub(super) fn read(request: &Request, ctx: &Context) -> Result<Value, ErrorObject> {
    let uri = request
        .param_str("uri")
        .ok_or_else(|| ErrorObject::invalid_params("resources/read needs a string `uri`"))?;
    let content = match uri {
        STATIC_TEXT => json!({
            "uri": uri,
            "mimeType": "text/plain",
            "text": "This is the content of the static text resource."
        }),
        STATIC_BINARY => json!({ "uri": uri, "mimeType": "image/png", "blob": PNG_1X1 }),
        WATCHED => json!({
            "uri": uri,
            "mimeType": "text/plain",
            "text": "This is the content of the watched resource."
        }),
        _ => match template_id(uri) {
            Some(id) => json!({
                "uri": uri,
                "mimeType": "application/json",
                "text": json!({
                    "id": id,
                    "templateTest": true,
                    "data": format!("Data for ID: {id}")
                })
                .to_string()
            }),
            None => return Err(resource_not_found(uri, ctx)),
        },
    };
    Ok(json!({ "contents": [content] }))
}

/// The `{id}` of a `test://template/{id}/data` URI: one non-empty path segment.
fn template_id(uri: &str) -> Option<&str> {
    let id = uri
        .strip_prefix(TEMPLATE_PREFIX)?
        .strip_suffix(TEMPLATE_SUFFIX)?;
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::template_id;

    #[test]
    fn template_ids_are_one_segment() {
        assert_eq!(template_id("test://template/123/data"), Some("123"));
        assert_eq!(template_id("test://template//data"), None);
        assert_eq!(template_id("test://template/1/2/data"), None);
        assert_eq!(template_id("test://template/123"), None);
    }
}

//! The stateless 2026-07-28 revision: per-request `_meta`, and the HTTP headers that mirror
//! the body (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`, `Mcp-Param-*`).

use base64::Engine;
use serde_json::{Map, Value};

use crate::jsonrpc::{ErrorObject, Request, code};
use crate::method::Method;

/// The stateless revision's wire string.
pub const VERSION: &str = crate::revision::Revision::V2026_07_28.as_str();

/// `_meta` key: the request's protocol version (required).
pub const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key: the client's capabilities (required).
pub const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key: the client's identity (optional).
pub const META_CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
/// `_meta` key: the log level for this request (optional; none means no log messages).
pub const META_LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
/// Result `_meta` key: the server's identity.
pub const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
/// Notification `_meta` key: the subscription a change notice belongs to.
pub const META_SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

/// What a stateless request says about its client in `_meta`.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestMeta {
    /// The protocol version the request speaks.
    pub protocol_version: String,
    /// The client's capabilities.
    pub client_capabilities: Value,
    /// The client's identity, if given.
    pub client_info: Option<Value>,
    /// The requested log level, if any.
    pub log_level: Option<String>,
}

impl RequestMeta {
    /// Reads the required `_meta` keys: `-32602` when one is missing or of the wrong type.
    pub fn from_params(params: Option<&Map<String, Value>>) -> Result<RequestMeta, ErrorObject> {
        let meta = params
            .and_then(|p| p.get("_meta"))
            .and_then(Value::as_object);
        let Some(meta) = meta else {
            return Err(ErrorObject::invalid_params(
                "params._meta is required (protocol version and client capabilities)",
            ));
        };
        let Some(version) = meta.get(META_PROTOCOL_VERSION).and_then(Value::as_str) else {
            return Err(ErrorObject::invalid_params(format!(
                "params._meta[\"{META_PROTOCOL_VERSION}\"] must be a string"
            )));
        };
        let caps = match meta.get(META_CLIENT_CAPABILITIES) {
            Some(c @ Value::Object(_)) => c.clone(),
            _ => {
                return Err(ErrorObject::invalid_params(format!(
                    "params._meta[\"{META_CLIENT_CAPABILITIES}\"] must be an object"
                )));
            }
        };
        Ok(RequestMeta {
            protocol_version: version.to_owned(),
            client_capabilities: caps,
            client_info: meta.get(META_CLIENT_INFO).cloned(),
            log_level: meta
                .get(META_LOG_LEVEL)
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }

    /// The protocol version in `_meta`, if readable, without checking anything else.
    pub fn version_of(params: Option<&Map<String, Value>>) -> Option<&str> {
        params?
            .get("_meta")?
            .as_object()?
            .get(META_PROTOCOL_VERSION)?
            .as_str()
    }
}

/// A `-32020` HeaderMismatch error.
pub fn header_mismatch(message: impl Into<String>) -> ErrorObject {
    ErrorObject::new(code::HEADER_MISMATCH, message)
}

const SENTINEL_PREFIX: &str = "=?base64?";
const SENTINEL_SUFFIX: &str = "?=";

/// Decodes a header value that may use the Base64 sentinel (`=?base64?…?=`).
///
/// Plain values must be visible ASCII, space or tab; sentinel values must hold valid,
/// padded standard Base64 of UTF-8 text.
pub fn decode_header_value(raw: &[u8]) -> Result<String, String> {
    if raw
        .iter()
        .any(|b| !(*b == b'\t' || (0x20..=0x7E).contains(b)))
    {
        return Err("the header value holds characters outside visible ASCII".into());
    }
    let text = std::str::from_utf8(raw).map_err(|_| "the header value is not ASCII")?;
    let Some(inner) = text
        .strip_prefix(SENTINEL_PREFIX)
        .and_then(|t| t.strip_suffix(SENTINEL_SUFFIX))
    else {
        return Ok(text.trim_matches([' ', '\t']).to_owned());
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(inner)
        .map_err(|e| format!("invalid Base64 in the header value: {e}"))?;
    String::from_utf8(bytes).map_err(|_| "the Base64 header value is not UTF-8".into())
}

/// The `Mcp-Name` a request must carry: `params.name` for `tools/call` and `prompts/get`,
/// `params.uri` for `resources/read`; `None` for other methods.
pub fn expected_name(request: &Request) -> Option<Option<&str>> {
    match request.kind() {
        Some(Method::ToolsCall | Method::PromptsGet) => Some(request.param_str("name")),
        Some(Method::ResourcesRead) => Some(request.param_str("uri")),
        _ => None,
    }
}

/// The `Mcp-Param-*` headers a tool's `inputSchema` declares: header name (lower-case,
/// without the prefix) and the chain of `properties` keys leading to the value.
pub fn param_headers(input_schema: &Value) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    collect_param_headers(input_schema, &mut Vec::new(), &mut out);
    out
}

fn collect_param_headers(
    schema: &Value,
    path: &mut Vec<String>,
    out: &mut Vec<(String, Vec<String>)>,
) {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (key, sub) in props {
        path.push(key.clone());
        if let Some(name) = sub.get("x-mcp-header").and_then(Value::as_str) {
            out.push((name.to_ascii_lowercase(), path.clone()));
        }
        collect_param_headers(sub, path, out);
        path.pop();
    }
}

/// Whether a decoded header value stands for a body value (strings as-is, integers
/// numerically, booleans as `true`/`false`).
pub fn header_matches_value(header: &str, value: &Value) -> bool {
    match value {
        Value::String(s) => header == s,
        Value::Bool(b) => header == if *b { "true" } else { "false" },
        Value::Number(n) => match (header.parse::<f64>(), n.as_f64()) {
            (Ok(h), Some(v)) => h == v,
            _ => false,
        },
        _ => false,
    }
}

/// The value at a chain of keys in the tool arguments, if present and not null.
pub fn value_at<'a>(arguments: Option<&'a Value>, path: &[String]) -> Option<&'a Value> {
    let mut v = arguments?;
    for key in path {
        v = v.get(key)?;
    }
    (!v.is_null()).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_plain_and_sentinel_values() {
        assert_eq!(
            decode_header_value(b"  us-west1 ").as_deref(),
            Ok("us-west1")
        );
        assert_eq!(
            decode_header_value(b"=?base64?SGVsbG8=?=").as_deref(),
            Ok("Hello")
        );
        assert!(
            decode_header_value(b"=?base64?SGVsbG8?=").is_err(),
            "bad padding"
        );
        assert!(
            decode_header_value(b"=?base64?SGV$bG8=?=").is_err(),
            "bad character"
        );
        assert!(decode_header_value("é".as_bytes()).is_err());
        assert!(decode_header_value(b"a\nb").is_err());
    }

    #[test]
    fn meta_requires_version_and_capabilities() {
        let ok = json!({"_meta": {META_PROTOCOL_VERSION: VERSION, META_CLIENT_CAPABILITIES: {}}});
        let m = RequestMeta::from_params(ok.as_object()).expect("valid");
        assert_eq!(m.protocol_version, VERSION);
        assert_eq!(m.client_info, None);
        for bad in [
            json!({}),
            json!({"_meta": {META_CLIENT_CAPABILITIES: {}}}),
            json!({"_meta": {META_PROTOCOL_VERSION: VERSION}}),
            json!({"_meta": {META_PROTOCOL_VERSION: 1, META_CLIENT_CAPABILITIES: {}}}),
        ] {
            let e = RequestMeta::from_params(bad.as_object()).expect_err("invalid");
            assert_eq!(e.code, code::INVALID_PARAMS);
        }
    }

    #[test]
    fn finds_param_headers_and_values() {
        let schema = json!({"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "opts": {"type": "object", "properties": {"n": {"type": "integer", "x-mcp-header": "N"}}}
        }});
        let found = param_headers(&schema);
        assert!(found.contains(&("region".into(), vec!["region".into()])));
        assert!(found.contains(&("n".into(), vec!["opts".into(), "n".into()])));
        let args = json!({"region": "eu", "opts": {"n": 42}});
        let n = value_at(Some(&args), &["opts".into(), "n".into()]).expect("n");
        assert!(header_matches_value("42.0", n));
        assert!(!header_matches_value("43", n));
        assert!(header_matches_value("true", &json!(true)));
        assert_eq!(
            value_at(Some(&json!({"region": null})), &["region".into()]),
            None
        );
    }
}

//! JSON-RPC 2.0 as MCP uses it.
//!
//! [`classify`] is the one entry point for untrusted bytes: it tells a parse error (`-32700`)
//! from a well-formed JSON value that is not a valid JSON-RPC message (`-32600`), and
//! returns each message of a batch separately so that one bad element does not spoil the rest.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::method::Method;

/// Standard JSON-RPC and MCP error codes.
pub mod code {
    /// Invalid JSON was received.
    pub const PARSE_ERROR: i64 = -32700;
    /// The JSON sent is not a valid request object.
    pub const INVALID_REQUEST: i64 = -32600;
    /// The method does not exist or is not available.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Invalid method parameters.
    pub const INVALID_PARAMS: i64 = -32602;
    /// Internal error.
    pub const INTERNAL_ERROR: i64 = -32603;
    /// MCP: a requested resource does not exist (2025 revisions).
    pub const RESOURCE_NOT_FOUND: i64 = -32002;
    /// MCP 2026-07-28: HTTP headers disagree with the body.
    pub const HEADER_MISMATCH: i64 = -32020;
    /// MCP 2026-07-28: the request needs a client capability that was not declared.
    pub const MISSING_CAPABILITY: i64 = -32021;
    /// MCP 2026-07-28: the protocol version is not supported.
    pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
    /// Switchyard: the session is unknown or terminated (HTTP 404 carries it).
    pub const SESSION_NOT_FOUND: i64 = -32001;
    /// Switchyard: a limit of the node was reached (429, 503, 413, 431 carry it; the message
    /// names the setting). In the implementation-defined server-error range.
    pub const LIMIT_EXCEEDED: i64 = -32050;
}

/// A JSON-RPC request id: a string or an integer (MCP forbids `null`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Id {
    /// An integer id.
    Number(i64),
    /// A string id.
    String(String),
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Id::Number(n) => write!(f, "{n}"),
            Id::String(s) => write!(f, "{s:?}"),
        }
    }
}

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// The error code (see [`code`]).
    pub code: i64,
    /// A short human-readable description.
    pub message: String,
    /// Optional structured detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ErrorObject {
    /// An error with no `data`.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// Attaches structured `data`.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// `-32602` invalid params.
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(code::INVALID_PARAMS, message)
    }

    /// `-32601` method not found.
    pub fn method_not_found(method: &str) -> Self {
        Self::new(
            code::METHOD_NOT_FOUND,
            format!("Method not found: {method}"),
        )
    }

    /// `-32603` internal error.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(code::INTERNAL_ERROR, message)
    }
}

impl std::fmt::Display for ErrorObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JSON-RPC error {}: {}", self.code, self.message)
    }
}

impl std::error::Error for ErrorObject {}

/// A request: has an id and expects a response.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The request id.
    pub id: Id,
    /// The method name.
    pub method: String,
    /// The params object, if any (MCP params are always objects).
    pub params: Option<Map<String, Value>>,
}

/// A notification: no id, no response.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// The method name.
    pub method: String,
    /// The params object, if any.
    pub params: Option<Map<String, Value>>,
}

/// A response: a result or an error for a request id.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The id of the request answered; `None` only for errors about unreadable requests
    /// (written as `"id": null`). A result response with no id is not a valid message.
    pub id: Option<Id>,
    /// The outcome.
    pub outcome: Result<Value, ErrorObject>,
}

/// Any JSON-RPC message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A notification.
    Notification(Notification),
    /// A response (result or error).
    Response(Response),
}

impl Request {
    /// Builds a request.
    pub fn new(id: Id, method: impl Into<String>, params: Option<Map<String, Value>>) -> Self {
        Self {
            id,
            method: method.into(),
            params,
        }
    }

    /// The `params._meta` object, if present.
    pub fn meta(&self) -> Option<&Map<String, Value>> {
        meta_of(self.params.as_ref())
    }

    /// A string field of `params`.
    pub fn param_str(&self, key: &str) -> Option<&str> {
        self.params.as_ref()?.get(key)?.as_str()
    }

    /// Whether this is a request of method `m`.
    pub fn is(&self, m: Method) -> bool {
        self.method == m.as_str()
    }

    /// The method, when it is one [`Method`] names.
    pub fn kind(&self) -> Option<Method> {
        Method::parse(&self.method)
    }
}

impl Notification {
    /// Builds a notification.
    pub fn new(method: impl Into<String>, params: Option<Map<String, Value>>) -> Self {
        Self {
            method: method.into(),
            params,
        }
    }

    /// Whether this is a notification of method `m`.
    pub fn is(&self, m: Method) -> bool {
        self.method == m.as_str()
    }

    /// The method, when it is one [`Method`] names.
    pub fn kind(&self) -> Option<Method> {
        Method::parse(&self.method)
    }
}

impl From<Method> for String {
    fn from(m: Method) -> String {
        m.as_str().to_owned()
    }
}

impl Response {
    /// A successful response.
    pub fn result(id: Id, result: Value) -> Self {
        Self {
            id: Some(id),
            outcome: Ok(result),
        }
    }

    /// An error response.
    pub fn error(id: Option<Id>, error: ErrorObject) -> Self {
        Self {
            id,
            outcome: Err(error),
        }
    }
}

fn meta_of(params: Option<&Map<String, Value>>) -> Option<&Map<String, Value>> {
    params?.get("_meta")?.as_object()
}

impl Message {
    /// The message as a JSON value, with `"jsonrpc": "2.0"`.
    pub fn to_value(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("jsonrpc".into(), Value::from("2.0"));
        match self {
            Message::Request(r) => {
                obj.insert("id".into(), id_value(&r.id));
                obj.insert("method".into(), Value::from(r.method.clone()));
                if let Some(p) = &r.params {
                    obj.insert("params".into(), Value::Object(p.clone()));
                }
            }
            Message::Notification(n) => {
                obj.insert("method".into(), Value::from(n.method.clone()));
                if let Some(p) = &n.params {
                    obj.insert("params".into(), Value::Object(p.clone()));
                }
            }
            Message::Response(r) => {
                obj.insert("id".into(), r.id.as_ref().map_or(Value::Null, id_value));
                match &r.outcome {
                    Ok(v) => obj.insert("result".into(), v.clone()),
                    Err(e) => obj.insert(
                        "error".into(),
                        serde_json::to_value(e).unwrap_or(Value::Null),
                    ),
                };
            }
        }
        Value::Object(obj)
    }

    /// The message serialized as compact JSON (the same members, in the same order, as
    /// [`Message::to_value`], written without building a [`Value`] first).
    pub fn to_json(&self) -> String {
        // Serializing a message writes only strings, integers and `Value`s: it cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses one message from a JSON value.
    ///
    /// The rules are JSON-RPC 2.0's, narrowed by MCP: `jsonrpc` is `"2.0"`; an `id` is a
    /// string or an integer that fits `i64` (never `null`, except on an error response about
    /// an unreadable request); `params`, when present, is an object; a request or notification
    /// has a string `method` and no `result`/`error`; a response has exactly one of them and a
    /// well-formed error object. Unknown members are ignored. When the message is invalid but
    /// its id could be read, the [`Invalid`] carries it so the `-32600` answer can echo it.
    pub fn from_value(value: Value) -> Result<Message, Invalid> {
        let Value::Object(mut obj) = value else {
            return Err(Invalid::new(None, "a JSON-RPC message must be an object"));
        };
        Message::from_members(Members {
            jsonrpc_2_0: obj.get("jsonrpc").and_then(Value::as_str) == Some("2.0"),
            id: obj.remove("id"),
            method: obj.remove("method"),
            params: obj.remove("params"),
            result: obj.remove("result"),
            error: obj.remove("error"),
        })
    }

    /// [`Message::from_value`]'s rules, on the members already picked out.
    fn from_members(m: Members) -> Result<Message, Invalid> {
        let id = m.id.map(parse_id);
        let id_ok = match &id {
            Some(Ok(id)) => Some(id.clone()),
            _ => None,
        };
        if !m.jsonrpc_2_0 {
            return Err(Invalid::new(id_ok, "\"jsonrpc\" must be \"2.0\""));
        }
        let params = match m.params {
            None => None,
            Some(Value::Object(p)) => Some(p),
            Some(_) => return Err(Invalid::new(id_ok, "\"params\" must be an object")),
        };
        if let Some(method) = m.method {
            let Value::String(method) = method else {
                return Err(Invalid::new(id_ok, "\"method\" must be a string"));
            };
            if m.result.is_some() || m.error.is_some() {
                return Err(Invalid::new(
                    id_ok,
                    "a request cannot carry result or error",
                ));
            }
            return match id {
                None => Ok(Message::Notification(Notification { method, params })),
                Some(Ok(id)) => Ok(Message::Request(Request { id, method, params })),
                Some(Err(why)) => Err(Invalid::new(None, why)),
            };
        }
        let id = match id {
            Some(Ok(id)) => Some(id),
            // An error response about an unreadable request carries `"id": null` (JSON-RPC
            // 2.0) or no id at all (MCP 2025-11-25 makes `id` optional on error responses).
            Some(Err(NULL_ID)) | None if m.error.is_some() => None,
            Some(Err(why)) => return Err(Invalid::new(None, why)),
            None => return Err(Invalid::new(None, "a message needs \"method\" or \"id\"")),
        };
        match (m.result, m.error) {
            (Some(result), None) => Ok(Message::Response(Response {
                id,
                outcome: Ok(result),
            })),
            (None, Some(error)) => match serde_json::from_value::<ErrorObject>(error) {
                Ok(e) => Ok(Message::Response(Response {
                    id,
                    outcome: Err(e),
                })),
                Err(_) => Err(Invalid::new(id, "malformed \"error\" object")),
            },
            _ => Err(Invalid::new(
                id,
                "a response needs exactly one of \"result\" or \"error\"",
            )),
        }
    }
}

/// The members of a JSON-RPC object the rules look at; the others are ignored.
#[derive(Default)]
struct Members {
    jsonrpc_2_0: bool,
    id: Option<Value>,
    method: Option<Value>,
    params: Option<Value>,
    result: Option<Value>,
    error: Option<Value>,
}

/// One message of a body, read straight from the bytes and judged: an object's members are
/// picked out without building a map for the envelope (the hot path of every POST), and read
/// as a [`Value`] would be — a repeated member's last value wins.
struct Judged(Result<Message, Invalid>);

/// A whole body; `None` for an empty batch.
struct Parsed(Option<Body>);

fn not_an_object() -> Result<Message, Invalid> {
    Err(Invalid::new(None, "a JSON-RPC message must be an object"))
}

fn read_members<'de, A: serde::de::MapAccess<'de>>(mut map: A) -> Result<Members, A::Error> {
    let mut m = Members::default();
    while let Some(key) = map.next_key::<Key>()? {
        match key {
            Key::Jsonrpc => {
                let v: Value = map.next_value()?;
                m.jsonrpc_2_0 = v.as_str() == Some("2.0");
            }
            Key::Id => m.id = Some(map.next_value()?),
            Key::Method => m.method = Some(map.next_value()?),
            Key::Params => m.params = Some(map.next_value()?),
            Key::Result => m.result = Some(map.next_value()?),
            Key::Error => m.error = Some(map.next_value()?),
            // Read as a `Value` (not skipped) so that serde_json's nesting limit applies
            // as it would to the whole body read as one.
            Key::Other => {
                map.next_value::<Value>()?;
            }
        }
    }
    Ok(m)
}

/// A visitor's methods for every JSON scalar, each answering `$scalar`.
macro_rules! scalars_are {
    ($ty:ty, $scalar:expr) => {
        fn visit_bool<E>(self, _: bool) -> Result<$ty, E> {
            Ok($scalar)
        }
        fn visit_i64<E>(self, _: i64) -> Result<$ty, E> {
            Ok($scalar)
        }
        fn visit_u64<E>(self, _: u64) -> Result<$ty, E> {
            Ok($scalar)
        }
        fn visit_f64<E>(self, _: f64) -> Result<$ty, E> {
            Ok($scalar)
        }
        fn visit_str<E>(self, _: &str) -> Result<$ty, E> {
            Ok($scalar)
        }
        fn visit_unit<E>(self) -> Result<$ty, E> {
            Ok($scalar)
        }
    };
}

impl<'de> Deserialize<'de> for Judged {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Judged, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Judged;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Judged, A::Error> {
                read_members(map).map(|m| Judged(Message::from_members(m)))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Judged, A::Error> {
                while seq.next_element::<Value>()?.is_some() {}
                Ok(Judged(not_an_object()))
            }
            scalars_are!(Judged, Judged(not_an_object()));
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Parsed {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Parsed, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Parsed;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Parsed, A::Error> {
                let m = read_members(map)?;
                Ok(Parsed(Some(Body::Single(Message::from_members(m)))))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Parsed, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(Judged(item)) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Parsed((!items.is_empty()).then_some(Body::Batch(items))))
            }
            scalars_are!(Parsed, Parsed(Some(Body::Single(not_an_object()))));
        }
        d.deserialize_any(V)
    }
}

/// A member name of a JSON-RPC object.
enum Key {
    Jsonrpc,
    Id,
    Method,
    Params,
    Result,
    Error,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E>(self, k: &str) -> Result<Key, E> {
                Ok(match k {
                    "jsonrpc" => Key::Jsonrpc,
                    "id" => Key::Id,
                    "method" => Key::Method,
                    "params" => Key::Params,
                    "result" => Key::Result,
                    "error" => Key::Error,
                    _ => Key::Other,
                })
            }
        }
        d.deserialize_str(V)
    }
}

const NULL_ID: &str = "\"id\" must not be null";

fn parse_id(v: Value) -> Result<Id, &'static str> {
    match v {
        Value::String(s) => Ok(Id::String(s)),
        Value::Number(n) => n
            .as_i64()
            .map(Id::Number)
            .ok_or("\"id\" must be a string or an integer"),
        Value::Null => Err(NULL_ID),
        _ => Err("\"id\" must be a string or an integer"),
    }
}

fn id_value(id: &Id) -> Value {
    match id {
        Id::Number(n) => Value::from(*n),
        Id::String(s) => Value::from(s.clone()),
    }
}

impl Serialize for Message {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut obj = s.serialize_map(None)?;
        obj.serialize_entry("jsonrpc", "2.0")?;
        match self {
            Message::Request(r) => {
                obj.serialize_entry("id", &r.id)?;
                obj.serialize_entry("method", &r.method)?;
                if let Some(p) = &r.params {
                    obj.serialize_entry("params", p)?;
                }
            }
            Message::Notification(n) => {
                obj.serialize_entry("method", &n.method)?;
                if let Some(p) = &n.params {
                    obj.serialize_entry("params", p)?;
                }
            }
            Message::Response(r) => {
                obj.serialize_entry("id", &r.id)?;
                match &r.outcome {
                    Ok(v) => obj.serialize_entry("result", v)?,
                    Err(e) => obj.serialize_entry("error", e)?,
                }
            }
        }
        obj.end()
    }
}

/// A JSON value that is not a valid JSON-RPC message: answered with `-32600`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid JSON-RPC message: {reason}")]
pub struct Invalid {
    /// The request id, when it could be read, so the error response can echo it.
    pub id: Option<Id>,
    /// What is wrong.
    pub reason: String,
}

impl Invalid {
    fn new(id: Option<Id>, reason: impl Into<String>) -> Self {
        Self {
            id,
            reason: reason.into(),
        }
    }

    /// The `-32600` error object for this message.
    pub fn to_error(&self) -> ErrorObject {
        ErrorObject::new(code::INVALID_REQUEST, self.reason.clone())
    }
}

/// A POST body, classified.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// One message (or one invalid message).
    Single(Result<Message, Invalid>),
    /// A batch; each element judged on its own. Never empty.
    Batch(Vec<Result<Message, Invalid>>),
}

/// Why a body could not be classified at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BodyError {
    /// Not JSON: answered with `-32700`.
    #[error("parse error: {0}")]
    Parse(String),
    /// An empty batch `[]`: answered with `-32600`.
    #[error("empty batch")]
    EmptyBatch,
}

impl BodyError {
    /// The error object to answer with.
    pub fn to_error(&self) -> ErrorObject {
        match self {
            BodyError::Parse(m) => ErrorObject::new(code::PARSE_ERROR, format!("Parse error: {m}")),
            BodyError::EmptyBatch => ErrorObject::new(code::INVALID_REQUEST, "empty batch"),
        }
    }
}

/// Classifies an untrusted POST body.
pub fn classify(bytes: &[u8]) -> Result<Body, BodyError> {
    let Parsed(body) =
        serde_json::from_slice(bytes).map_err(|e| BodyError::Parse(e.to_string()))?;
    body.ok_or(BodyError::EmptyBatch)
}

#[cfg(test)]
mod message_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

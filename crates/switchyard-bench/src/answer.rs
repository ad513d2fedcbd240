//! What counts as an answer and what counts as an error.
//!
//! Every failed request is counted under a short, stable label ([`Failure::label`]) so a
//! report says *why* requests failed ("http 404", "jsonrpc -32602", "mismatch"), not only
//! how many.

use serde_json::Value;

/// Why a request did not produce the expected answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Failure {
    /// The TCP connection or the HTTP handshake failed.
    Connect(String),
    /// The connection broke mid-exchange.
    Transport(String),
    /// The server answered with a non-success HTTP status.
    Status(u16),
    /// The body was neither JSON nor an event stream, or did not parse.
    BadBody(String),
    /// A JSON-RPC error response.
    Rpc(i64),
    /// A tool result with `isError: true`.
    ToolError,
    /// A tool result whose text is not the text sent.
    Mismatch,
    /// The answer stream ended without a response to the request.
    NoAnswer,
    /// No answer within the deadline.
    Timeout,
}

impl Failure {
    /// A short label to count failures by.
    pub(crate) fn label(&self) -> String {
        match self {
            Failure::Connect(_) => "connect".into(),
            Failure::Transport(_) => "transport".into(),
            Failure::Status(s) => format!("http {s}"),
            Failure::BadBody(_) => "bad body".into(),
            Failure::Rpc(code) => format!("jsonrpc {code}"),
            Failure::ToolError => "tool isError".into(),
            Failure::Mismatch => "mismatch".into(),
            Failure::NoAnswer => "no answer".into(),
            Failure::Timeout => "timeout".into(),
        }
    }

    /// Whether the connection should be dropped and opened anew after this failure.
    pub(crate) fn breaks_connection(&self) -> bool {
        matches!(
            self,
            Failure::Connect(_) | Failure::Transport(_) | Failure::Timeout | Failure::NoAnswer
        )
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Connect(e) | Failure::Transport(e) | Failure::BadBody(e) => {
                write!(f, "{}: {e}", self.label())
            }
            _ => f.write_str(&self.label()),
        }
    }
}

/// The JSON-RPC response to request `id` inside `data` (one JSON message), if `data` is one.
/// Notifications, requests, other responses and empty (priming) events give `None`.
pub(crate) fn response_for(data: &[u8], id: u64) -> Option<Result<Value, Failure>> {
    if data.is_empty() {
        return None;
    }
    let msg: Value = match serde_json::from_slice(data) {
        Ok(v) => v,
        Err(e) => return Some(Err(Failure::BadBody(e.to_string()))),
    };
    if msg.get("id").and_then(Value::as_u64) != Some(id) {
        return None;
    }
    if msg.get("result").is_none() && msg.get("error").is_none() {
        return None; // a server-to-client request that happens to reuse the number
    }
    Some(Ok(msg))
}

/// The result of a response, or the JSON-RPC error as a failure.
pub(crate) fn result_of(msg: &Value) -> Result<&Value, Failure> {
    if let Some(err) = msg.get("error") {
        return Err(Failure::Rpc(
            err.get("code").and_then(Value::as_i64).unwrap_or(0),
        ));
    }
    msg.get("result")
        .ok_or_else(|| Failure::BadBody("a response without result or error".into()))
}

/// Checks a `tools/call` result: not an error, first content block a text; when `expect` is
/// given, that text must equal it (the echo tool).
pub(crate) fn check_tool_result(msg: &Value, expect: Option<&str>) -> Result<(), Failure> {
    let result = result_of(msg)?;
    if result.get("isError").and_then(Value::as_bool) == Some(true) {
        return Err(Failure::ToolError);
    }
    let text = result
        .get("content")
        .and_then(|c| c.get(0))
        .and_then(|b| b.get("text"))
        .and_then(Value::as_str)
        .ok_or_else(|| Failure::BadBody("no text content in the tool result".into()))?;
    match expect {
        Some(want) if want != text => Err(Failure::Mismatch),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_only_the_response_with_the_id() {
        let ok =
            br#"{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"hello"}]}}"#;
        assert!(response_for(ok, 7).unwrap().is_ok());
        assert!(response_for(ok, 8).is_none());
        let note = br#"{"jsonrpc":"2.0","method":"notifications/progress","params":{}}"#;
        assert!(response_for(note, 7).is_none());
        let request = br#"{"jsonrpc":"2.0","id":7,"method":"sampling/createMessage"}"#;
        assert!(response_for(request, 7).is_none());
        assert!(response_for(b"", 7).is_none(), "priming event");
        assert!(matches!(
            response_for(b"{nope", 7),
            Some(Err(Failure::BadBody(_)))
        ));
    }

    #[test]
    fn tool_results_are_checked() {
        let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap();
        let ok = parse(r#"{"id":1,"result":{"content":[{"type":"text","text":"hello"}]}}"#);
        assert_eq!(check_tool_result(&ok, Some("hello")), Ok(()));
        assert_eq!(check_tool_result(&ok, None), Ok(()));
        assert_eq!(check_tool_result(&ok, Some("bye")), Err(Failure::Mismatch));
        let err = parse(r#"{"id":1,"error":{"code":-32602,"message":"Unknown tool"}}"#);
        assert_eq!(check_tool_result(&err, None), Err(Failure::Rpc(-32602)));
        assert_eq!(Failure::Rpc(-32602).label(), "jsonrpc -32602");
        let tool_err =
            parse(r#"{"id":1,"result":{"isError":true,"content":[{"type":"text","text":"x"}]}}"#);
        assert_eq!(check_tool_result(&tool_err, None), Err(Failure::ToolError));
        let empty = parse(r#"{"id":1,"result":{"content":[]}}"#);
        assert!(matches!(
            check_tool_result(&empty, None),
            Err(Failure::BadBody(_))
        ));
    }
}

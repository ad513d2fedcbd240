//! The one place where a refusal becomes an HTTP status, a JSON-RPC error body and headers.
//!
//! Every way the node refuses a request is a [`Refusal`] variant; [`Refusal::answer`] is the
//! only code that chooses a status, a code or a header for one. Handlers return
//! [`HttpError`] (a boxed refusal, plus the request id to echo when it was readable).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use switchyard_protocol::jsonrpc::{BodyError, ErrorObject, Id, Message, Response, code};
use switchyard_state::StateError;

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// The body is not JSON (`-32700`) or not a JSON-RPC message (`-32600`): 400.
    Unreadable(ErrorObject),
    /// A request that breaks a transport rule: 400, `-32600`.
    BadRequest(String),
    /// `Accept` does not list what the answer needs: 406.
    NotAcceptable(&'static str),
    /// `Content-Type` is not JSON: 415.
    UnsupportedMediaType,
    /// The body is larger than `http.max_body_bytes`: 413.
    TooLarge {
        /// The configured limit, in bytes.
        limit: usize,
    },
    /// `Host` or `Origin` is not allowed (DNS-rebinding protection): 403.
    Forbidden(String),
    /// The session is unknown, expired or terminated: 404, `-32001`.
    SessionNotFound,
    /// The path exists but not with this method: 405 with `Allow`.
    MethodNotAllowed {
        /// The methods the path has.
        allow: &'static str,
    },
    /// The events after the client's `Last-Event-ID` are no longer available: 410.
    Gone,
    /// The push API is disabled (no `admin.token`): 404, `-32601`.
    AdminDisabled,
    /// A path this listener does not serve (`admin.bind` splits the push API from the MCP
    /// endpoints): 404, `-32601`.
    NotHere,
    /// A push API call without the right bearer token: 401 with `WWW-Authenticate: Bearer`.
    Unauthorized,
    /// An MCP request without a valid credential (`auth.mode`): 401 with this
    /// `WWW-Authenticate` challenge.
    Unauthenticated {
        /// The `WWW-Authenticate` value.
        challenge: String,
    },
    /// The principal lacks scopes the request needs: 403 with an `insufficient_scope`
    /// challenge naming all of them.
    InsufficientScope {
        /// The `WWW-Authenticate` value.
        challenge: String,
        /// The scopes needed, space-separated.
        scope: String,
    },
    /// A push to a session that has no standalone stream: 409.
    NoStream,
    /// A 2026-07-28 request refused with a JSON-RPC error of its own: the status follows the
    /// code ([`rpc_status`]), and is 400 for a code that would otherwise be answered 200.
    Rpc(ErrorObject),
    /// The state backend is unreachable or did not answer in time: 503 with `Retry-After`.
    /// A retry may help.
    Unavailable(String),
    /// Stored data that cannot be read, or a state conflict that should not happen: 500,
    /// logged. A retry does not help.
    Internal(String),
    /// The node is at a capacity limit of its own (e.g. `limits.max_streams`): 503 with
    /// `Retry-After`, so a balancer or client tries again, maybe on another node.
    Busy {
        /// The setting that bounds it.
        setting: &'static str,
        /// What was reached.
        message: String,
    },
    /// The client is over a quota of its own (requests in flight per session, connections
    /// per IP, a rate): 429 with `Retry-After`.
    TooMany {
        /// The setting that bounds it.
        setting: &'static str,
        /// What was reached.
        message: String,
    },
    /// A request larger than a limit other than the body size (batch length, stored client
    /// data): 413, no `Retry-After` (the same request is refused again).
    OverLimit {
        /// The setting that bounds it.
        setting: &'static str,
        /// What was too large.
        message: String,
    },
    /// Too many or too large headers (`limits.max_headers`, `limits.max_header_bytes`): 431.
    HeadersTooLarge {
        /// The setting that bounds it.
        setting: &'static str,
        /// What was too large.
        message: String,
    },
    /// JSON nested deeper than `limits.max_json_depth`: 400.
    TooDeep {
        /// The configured depth.
        limit: usize,
    },
    /// The connection is past `limits.max_connections_per_ip`: 429 with `Retry-After`, and
    /// the connection is closed.
    TooManyConnections {
        /// The configured limit.
        max: usize,
    },
    /// The body did not arrive within `limits.body_timeout_ms`: 408, and the connection is
    /// closed.
    BodyTimeout {
        /// The configured timeout, in milliseconds.
        limit_ms: u64,
    },
}

/// What a [`Refusal`] is answered with.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The HTTP status.
    pub status: StatusCode,
    /// The JSON-RPC error in the body.
    pub error: ErrorObject,
    /// Headers beside `Content-Type`.
    pub headers: Vec<(&'static str, String)>,
    /// Close the connection after this answer (its request may still be arriving).
    pub close: bool,
}

/// The seconds a client is told to wait before retrying a 503.
pub const RETRY_AFTER_SECS: u32 = 1;

impl Refusal {
    /// The status, JSON-RPC error and headers of this refusal — the only place they are chosen.
    pub fn answer(&self) -> Answer {
        let plain =
            |status, message: &str| (status, ErrorObject::new(code::INVALID_REQUEST, message));
        let (status, error) = match self {
            Refusal::Unreadable(e) => (StatusCode::BAD_REQUEST, e.clone()),
            Refusal::BadRequest(m) => plain(StatusCode::BAD_REQUEST, m),
            Refusal::NotAcceptable(m) => plain(StatusCode::NOT_ACCEPTABLE, m),
            Refusal::UnsupportedMediaType => plain(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported Media Type: Content-Type must be application/json",
            ),
            Refusal::TooLarge { limit } => plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("Payload Too Large: the limit is {limit} bytes"),
            ),
            Refusal::Forbidden(m) => plain(StatusCode::FORBIDDEN, m),
            Refusal::SessionNotFound => (
                StatusCode::NOT_FOUND,
                ErrorObject::new(code::SESSION_NOT_FOUND, "Session not found"),
            ),
            Refusal::MethodNotAllowed { allow } => plain(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!("Method not allowed; allowed: {allow}"),
            ),
            Refusal::Gone => plain(
                StatusCode::GONE,
                "Gone: the events after this Last-Event-ID are no longer available",
            ),
            Refusal::AdminDisabled => (
                StatusCode::NOT_FOUND,
                ErrorObject::new(
                    code::METHOD_NOT_FOUND,
                    "Not Found: the admin API is disabled (set admin.token)",
                ),
            ),
            Refusal::NotHere => (
                StatusCode::NOT_FOUND,
                ErrorObject::new(code::METHOD_NOT_FOUND, "Not Found on this listener"),
            ),
            Refusal::Unauthorized => plain(
                StatusCode::UNAUTHORIZED,
                "Unauthorized: a valid admin bearer token is required",
            ),
            Refusal::Unauthenticated { .. } => plain(
                StatusCode::UNAUTHORIZED,
                "Unauthorized: a valid credential is required (see WWW-Authenticate)",
            ),
            Refusal::InsufficientScope { scope, .. } => plain(
                StatusCode::FORBIDDEN,
                &format!("Forbidden: insufficient scope; this request needs: {scope}"),
            ),
            Refusal::NoStream => plain(
                StatusCode::CONFLICT,
                "Conflict: the session has no standalone stream to deliver to",
            ),
            Refusal::Rpc(e) => match rpc_status(e.code) {
                // Refused, so never 200: 400 for any other code (e.g. invalid `_meta`).
                StatusCode::OK => (StatusCode::BAD_REQUEST, e.clone()),
                status => (status, e.clone()),
            },
            Refusal::Unavailable(m) => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorObject::new(
                    code::INTERNAL_ERROR,
                    format!("temporarily unavailable: {m}"),
                ),
            ),
            Refusal::Internal(m) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorObject::new(code::INTERNAL_ERROR, format!("internal error: {m}")),
            ),
            Refusal::Busy { setting, message } => limit(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service Unavailable",
                setting,
                message,
            ),
            Refusal::TooMany { setting, message } => limit(
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests",
                setting,
                message,
            ),
            Refusal::OverLimit { setting, message } => limit(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Payload Too Large",
                setting,
                message,
            ),
            Refusal::HeadersTooLarge { setting, message } => limit(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "Request Header Fields Too Large",
                setting,
                message,
            ),
            Refusal::TooDeep { limit: max } => limit(
                StatusCode::BAD_REQUEST,
                "Bad Request",
                "limits.max_json_depth",
                &format!("the JSON nests deeper than {max} levels"),
            ),
            Refusal::TooManyConnections { max } => limit(
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests",
                "limits.max_connections_per_ip",
                &format!("this client IP holds more than {max} connections"),
            ),
            Refusal::BodyTimeout { limit_ms } => limit(
                StatusCode::REQUEST_TIMEOUT,
                "Request Timeout",
                "limits.body_timeout_ms",
                &format!("the body did not arrive within {limit_ms} ms"),
            ),
        };
        let headers = match self {
            Refusal::MethodNotAllowed { allow } => vec![("Allow", (*allow).to_owned())],
            Refusal::Unauthorized => vec![("WWW-Authenticate", "Bearer".to_owned())],
            Refusal::Unauthenticated { challenge }
            | Refusal::InsufficientScope { challenge, .. } => {
                vec![("WWW-Authenticate", challenge.clone())]
            }
            Refusal::Unavailable(_)
            | Refusal::Busy { .. }
            | Refusal::TooMany { .. }
            | Refusal::TooManyConnections { .. } => {
                vec![("Retry-After", RETRY_AFTER_SECS.to_string())]
            }
            _ => Vec::new(),
        };
        Answer {
            status,
            error,
            headers,
            close: matches!(
                self,
                Refusal::BodyTimeout { .. } | Refusal::TooManyConnections { .. }
            ),
        }
    }
}

/// A limit's answer: `status`, and a [`code::LIMIT_EXCEEDED`] error whose message names the
/// setting (and its environment variable) that bounds it.
fn limit(
    status: StatusCode,
    reason: &str,
    setting: &str,
    message: &str,
) -> (StatusCode, ErrorObject) {
    let env = format!("SWITCHYARD__{}", setting.replace('.', "__").to_uppercase());
    let error = ErrorObject::new(
        code::LIMIT_EXCEEDED,
        format!("{reason}: {message} (limit: {setting}, {env})"),
    )
    .with_data(serde_json::json!({ "limit": setting }));
    (status, error)
}

/// The HTTP status of a 2026-07-28 answer carrying JSON-RPC error `code`: 404 for an unknown
/// or removed method, 400 for the header, capability and version errors, 200 for any other
/// (a tool's or backend's own error is a JSON-RPC answer, not an HTTP failure).
pub fn rpc_status(error_code: i64) -> StatusCode {
    match error_code {
        code::METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
        code::HEADER_MISMATCH | code::MISSING_CAPABILITY | code::UNSUPPORTED_PROTOCOL_VERSION => {
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::OK,
    }
}

/// A request refused before (or instead of) reaching the backend. Boxed: it travels in
/// `Result`s on every path.
#[derive(Debug, Clone)]
pub struct HttpError(Box<Refused>);

#[derive(Debug, Clone)]
struct Refused {
    refusal: Refusal,
    id: Option<Id>,
}

impl HttpError {
    /// The refusal.
    pub fn refusal(&self) -> &Refusal {
        &self.0.refusal
    }

    /// Echoes a request id in the error body.
    pub fn with_id(mut self, id: Option<Id>) -> Self {
        self.0.id = id;
        self
    }

    /// [`Refusal::BadRequest`].
    pub fn bad_request(message: impl Into<String>) -> Self {
        Refusal::BadRequest(message.into()).into()
    }

    /// [`Refusal::SessionNotFound`].
    pub fn session_not_found() -> Self {
        Refusal::SessionNotFound.into()
    }

    /// [`Refusal::MethodNotAllowed`].
    pub fn method_not_allowed(allow: &'static str) -> Self {
        Refusal::MethodNotAllowed { allow }.into()
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let a = self.0.refusal.answer();
        write!(f, "{}: {}", a.status, a.error)
    }
}

impl std::error::Error for HttpError {}

impl From<Refusal> for HttpError {
    fn from(refusal: Refusal) -> Self {
        Self(Box::new(Refused { refusal, id: None }))
    }
}

impl From<BodyError> for HttpError {
    fn from(e: BodyError) -> Self {
        Refusal::Unreadable(e.to_error()).into()
    }
}

impl From<StateError> for HttpError {
    fn from(e: StateError) -> Self {
        // The message carries the cause, for the log line of a 500 and for the client.
        let message = match std::error::Error::source(&e) {
            Some(cause) => format!("{e} ({cause})"),
            None => e.to_string(),
        };
        let refusal = if e.is_retryable() {
            Refusal::Unavailable(message)
        } else {
            Refusal::Internal(message)
        };
        refusal.into()
    }
}

impl ResponseError for HttpError {
    fn status_code(&self) -> StatusCode {
        self.0.refusal.answer().status
    }

    fn error_response(&self) -> HttpResponse {
        let answer = self.0.refusal.answer();
        if let Some(m) = crate::telemetry::metrics() {
            m.rejected(answer.status.as_u16(), answer.error.code);
        }
        // One line per refused request, with the reason (the error message names what was
        // wrong, never a body or a credential).
        if answer.status.is_server_error() && answer.status != StatusCode::SERVICE_UNAVAILABLE {
            tracing::error!(status = answer.status.as_u16(), code = answer.error.code, reason = %answer.error.message, "refused a request");
        } else {
            tracing::info!(status = answer.status.as_u16(), code = answer.error.code, reason = %answer.error.message, "refused a request");
        }
        let mut resp = HttpResponse::build(answer.status);
        for h in answer.headers {
            resp.insert_header(h);
        }
        if answer.close {
            resp.force_close();
        }
        let body = Message::Response(Response::error(self.0.id.clone(), answer.error));
        resp.content_type("application/json").body(body.to_json())
    }
}

#[cfg(test)]
mod tests;

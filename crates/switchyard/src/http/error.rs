//! The one place where a failure becomes an HTTP status and a JSON-RPC error body.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use switchyard_protocol::jsonrpc::{ErrorObject, Id, Message, Response, code};
use switchyard_state::StateError;

/// A request refused before (or instead of) reaching the backend. Boxed: it travels in
/// `Result`s on every path.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(Box<Refusal>);

/// The parts of an [`HttpError`].
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status}: {error}")]
pub struct Refusal {
    /// The HTTP status.
    pub status: StatusCode,
    /// The JSON-RPC error in the body.
    pub error: ErrorObject,
    /// The request id to echo, when it could be read.
    pub id: Option<Id>,
    /// `Allow` header for 405.
    pub allow: Option<&'static str>,
    /// `Retry-After` seconds for 503.
    pub retry_after: Option<u32>,
    /// Any other header.
    pub header: Option<(&'static str, &'static str)>,
}

impl HttpError {
    /// An error with a status and a JSON-RPC code.
    pub fn new(status: StatusCode, code: i64, message: impl Into<String>) -> Self {
        Self(Box::new(Refusal {
            status,
            error: ErrorObject::new(code, message),
            id: None,
            allow: None,
            retry_after: None,
            header: None,
        }))
    }

    /// An error with a status and a whole JSON-RPC error object.
    pub fn rpc(status: StatusCode, error: ErrorObject) -> Self {
        Self(Box::new(Refusal {
            status,
            error,
            id: None,
            allow: None,
            retry_after: None,
            header: None,
        }))
    }

    /// Adds a header to the answer.
    pub fn set_header(&mut self, name: &'static str, value: &'static str) {
        self.0.header = Some((name, value));
    }

    /// The parts.
    pub fn refusal(&self) -> &Refusal {
        &self.0
    }

    /// Echoes a request id.
    pub fn with_id(mut self, id: Option<Id>) -> Self {
        self.0.id = id;
        self
    }

    /// 400 with `-32600`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code::INVALID_REQUEST, message)
    }

    /// 404: the session is unknown or was terminated.
    pub fn session_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            code::SESSION_NOT_FOUND,
            "Session not found",
        )
    }

    /// 405 with `Allow`.
    pub fn method_not_allowed(allow: &'static str) -> Self {
        let mut e = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            code::INVALID_REQUEST,
            format!("Method not allowed; allowed: {allow}"),
        );
        e.0.allow = Some(allow);
        e
    }
}

impl From<StateError> for HttpError {
    fn from(e: StateError) -> Self {
        let mut err = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            code::INTERNAL_ERROR,
            format!("temporarily unavailable: {e}"),
        );
        err.0.retry_after = Some(1);
        err
    }
}

impl ResponseError for HttpError {
    fn status_code(&self) -> StatusCode {
        self.0.status
    }

    fn error_response(&self) -> HttpResponse {
        let r = &self.0;
        let mut resp = HttpResponse::build(r.status);
        if let Some(allow) = r.allow {
            resp.insert_header(("Allow", allow));
        }
        if let Some(h) = r.header {
            resp.insert_header(h);
        }
        if let Some(s) = r.retry_after {
            resp.insert_header(("Retry-After", s.to_string()));
        }
        let body = Message::Response(Response::error(r.id.clone(), r.error.clone()));
        resp.content_type("application/json").body(body.to_json())
    }
}

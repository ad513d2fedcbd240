//! The refusal table: every [`Refusal`] variant, once, with the status, JSON-RPC code and
//! headers it must be answered with. The `expected` match is exhaustive, so a new variant
//! does not compile until it has a row here.

use std::collections::HashSet;
use std::mem::discriminant;

use actix_web::body::MessageBody;
use serde_json::Value;

use super::*;

/// One example of every variant.
fn every_refusal() -> Vec<Refusal> {
    vec![
        Refusal::Unreadable(BodyError::Parse("x".into()).to_error()),
        Refusal::BadRequest("Bad Request: x".into()),
        Refusal::NotAcceptable("Not Acceptable: x"),
        Refusal::UnsupportedMediaType,
        Refusal::TooLarge { limit: 10 },
        Refusal::Forbidden("Forbidden: x".into()),
        Refusal::SessionNotFound,
        Refusal::MethodNotAllowed { allow: "GET, POST" },
        Refusal::Gone,
        Refusal::AdminDisabled,
        Refusal::NotHere,
        Refusal::Unauthorized,
        Refusal::Unauthenticated {
            challenge: "Bearer realm=\"switchyard\"".into(),
        },
        Refusal::InsufficientScope {
            challenge: "Bearer error=\"insufficient_scope\", scope=\"a b\"".into(),
            scope: "a b".into(),
        },
        Refusal::NoStream,
        Refusal::Rpc(ErrorObject::new(code::HEADER_MISMATCH, "x")),
        Refusal::Unavailable("redis down".into()),
        Refusal::Internal("corrupt".into()),
        Refusal::Busy {
            setting: "limits.max_streams",
            message: "x".into(),
        },
        Refusal::TooMany {
            setting: "limits.max_inflight_per_session",
            message: "x".into(),
        },
        Refusal::OverLimit {
            setting: "limits.max_batch_len",
            message: "x".into(),
        },
        Refusal::HeadersTooLarge {
            setting: "limits.max_header_bytes",
            message: "x".into(),
        },
        Refusal::TooDeep { limit: 64 },
        Refusal::TooManyConnections { max: 2 },
        Refusal::BodyTimeout { limit_ms: 10 },
    ]
}

/// The row of the table for `r`: status, JSON-RPC code, headers.
fn expected(r: &Refusal) -> (u16, i64, Vec<(&'static str, &'static str)>) {
    match r {
        Refusal::Unreadable(_) => (400, code::PARSE_ERROR, vec![]),
        Refusal::BadRequest(_) => (400, code::INVALID_REQUEST, vec![]),
        Refusal::NotAcceptable(_) => (406, code::INVALID_REQUEST, vec![]),
        Refusal::UnsupportedMediaType => (415, code::INVALID_REQUEST, vec![]),
        Refusal::TooLarge { .. } => (413, code::INVALID_REQUEST, vec![]),
        Refusal::Forbidden(_) => (403, code::INVALID_REQUEST, vec![]),
        Refusal::SessionNotFound => (404, code::SESSION_NOT_FOUND, vec![]),
        Refusal::MethodNotAllowed { .. } => {
            (405, code::INVALID_REQUEST, vec![("allow", "GET, POST")])
        }
        Refusal::Gone => (410, code::INVALID_REQUEST, vec![]),
        Refusal::AdminDisabled => (404, code::METHOD_NOT_FOUND, vec![]),
        Refusal::NotHere => (404, code::METHOD_NOT_FOUND, vec![]),
        Refusal::Unauthorized => (
            401,
            code::INVALID_REQUEST,
            vec![("www-authenticate", "Bearer")],
        ),
        Refusal::Unauthenticated { .. } => (
            401,
            code::INVALID_REQUEST,
            vec![("www-authenticate", "Bearer realm=\"switchyard\"")],
        ),
        Refusal::InsufficientScope { .. } => (
            403,
            code::INVALID_REQUEST,
            vec![(
                "www-authenticate",
                "Bearer error=\"insufficient_scope\", scope=\"a b\"",
            )],
        ),
        Refusal::NoStream => (409, code::INVALID_REQUEST, vec![]),
        Refusal::Rpc(_) => (400, code::HEADER_MISMATCH, vec![]),
        Refusal::Unavailable(_) => (503, code::INTERNAL_ERROR, vec![("retry-after", "1")]),
        Refusal::Internal(_) => (500, code::INTERNAL_ERROR, vec![]),
        Refusal::Busy { .. } => (503, code::LIMIT_EXCEEDED, vec![("retry-after", "1")]),
        Refusal::TooMany { .. } => (429, code::LIMIT_EXCEEDED, vec![("retry-after", "1")]),
        Refusal::OverLimit { .. } => (413, code::LIMIT_EXCEEDED, vec![]),
        Refusal::HeadersTooLarge { .. } => (431, code::LIMIT_EXCEEDED, vec![]),
        Refusal::TooDeep { .. } => (400, code::LIMIT_EXCEEDED, vec![]),
        Refusal::TooManyConnections { .. } => {
            (429, code::LIMIT_EXCEEDED, vec![("retry-after", "1")])
        }
        Refusal::BodyTimeout { .. } => (408, code::LIMIT_EXCEEDED, vec![]),
    }
}

#[test]
fn the_table_has_every_variant_exactly_once() {
    let all = every_refusal();
    let kinds: HashSet<_> = all.iter().map(discriminant).collect();
    assert_eq!(kinds.len(), all.len(), "a variant is listed twice");
    // `expected` is exhaustive; this counts its arms through the examples.
    assert_eq!(
        all.len(),
        25,
        "every variant needs one example in every_refusal"
    );
}

#[test]
fn every_refusal_is_answered_as_the_table_says() {
    for r in every_refusal() {
        let (status, rpc_code, headers) = expected(&r);
        let response = HttpError::from(r.clone())
            .with_id(Some(Id::Number(7)))
            .error_response();
        assert_eq!(response.status().as_u16(), status, "{r:?}");
        let mut seen: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter(|(n, _)| *n != "content-type")
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
            .collect();
        seen.sort();
        let want: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(seen, want, "{r:?}: headers");
        assert_eq!(
            response.headers().get("content-type").unwrap(),
            "application/json",
            "{r:?}"
        );
        let body = response.into_body().try_into_bytes().expect("a whole body");
        let body: Value = serde_json::from_slice(&body).expect("a JSON body");
        assert_eq!(body["jsonrpc"], "2.0", "{r:?}");
        assert_eq!(body["id"], 7, "{r:?}: the request id is echoed");
        assert_eq!(
            body["error"]["code"].as_i64(),
            Some(rpc_code),
            "{r:?}: {body}"
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
}

#[test]
fn limits_name_their_setting_and_only_timeouts_and_connection_caps_close() {
    for r in every_refusal() {
        let answer = r.answer();
        if answer.error.code == code::LIMIT_EXCEEDED {
            let setting = answer.error.data.as_ref().expect("data")["limit"]
                .as_str()
                .expect("limit")
                .to_owned();
            assert!(setting.starts_with("limits."), "{r:?}");
            assert!(answer.error.message.contains(&setting), "{r:?}");
            let env = format!("SWITCHYARD__{}", setting.replace('.', "__").to_uppercase());
            assert!(
                answer.error.message.contains(&env),
                "{r:?}: {}",
                answer.error.message
            );
        }
        let closes = matches!(
            r,
            Refusal::BodyTimeout { .. } | Refusal::TooManyConnections { .. }
        );
        assert_eq!(answer.close, closes, "{r:?}");
    }
}

#[test]
fn state_errors_map_by_whether_a_retry_helps() {
    let unavailable = HttpError::from(StateError::unavailable("down"));
    assert!(matches!(unavailable.refusal(), Refusal::Unavailable(_)));
    for e in [StateError::corrupt("bad"), StateError::Conflict("s".into())] {
        let refused = HttpError::from(e.clone());
        assert!(matches!(refused.refusal(), Refusal::Internal(_)), "{e:?}");
        assert_eq!(refused.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            !refused
                .error_response()
                .headers()
                .contains_key("retry-after")
        );
    }
}

#[test]
fn stateless_error_codes_choose_their_status() {
    assert_eq!(rpc_status(code::METHOD_NOT_FOUND), StatusCode::NOT_FOUND);
    for c in [
        code::HEADER_MISMATCH,
        code::MISSING_CAPABILITY,
        code::UNSUPPORTED_PROTOCOL_VERSION,
    ] {
        assert_eq!(rpc_status(c), StatusCode::BAD_REQUEST, "{c}");
    }
    assert_eq!(rpc_status(code::INVALID_PARAMS), StatusCode::OK);
    // ... but a refusal is never 200.
    let refused = HttpError::from(Refusal::Rpc(ErrorObject::invalid_params("no _meta")));
    assert_eq!(refused.status_code(), StatusCode::BAD_REQUEST);
    let not_found = HttpError::from(Refusal::Rpc(ErrorObject::method_not_found("x")));
    assert_eq!(not_found.status_code(), StatusCode::NOT_FOUND);
}

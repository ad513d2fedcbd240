use super::*;

pub(super) fn single(body: &str) -> Result<Message, Invalid> {
    match classify(body.as_bytes()) {
        Ok(Body::Single(m)) => m,
        other => panic!("{body}: expected a single message, got {other:?}"),
    }
}

fn invalid(body: &str) -> Invalid {
    single(body).expect_err(body)
}

#[test]
fn non_json_is_a_parse_error() {
    let bodies: [&[u8]; 8] = [
        b"",
        b"{",
        b"nul",
        b"{\"a\":1} x",
        b"[1,]",
        b"\xEF\xBB\xBF{}",
        b"\xff\xfe",
        b"{'a':1}",
    ];
    for body in bodies {
        let err = classify(body).expect_err(&String::from_utf8_lossy(body));
        assert!(matches!(err, BodyError::Parse(_)), "{err:?}");
        assert_eq!(err.to_error().code, code::PARSE_ERROR);
    }
}

#[test]
fn nesting_too_deep_is_a_parse_error_not_a_stack_overflow() {
    let body = "[".repeat(100_000);
    assert!(matches!(
        classify(body.as_bytes()),
        Err(BodyError::Parse(_))
    ));
}

#[test]
fn nesting_too_deep_inside_a_member_is_a_parse_error() {
    let deep = "[".repeat(100_000);
    for body in [
        format!(r#"{{"jsonrpc":"2.0","id":1,"method":"m","params":{{"a":{deep}"#),
        format!(r#"{{"jsonrpc":"2.0","id":1,"method":"m","unknown":{deep}"#),
        format!(r#"[{{"jsonrpc":"2.0","unknown":{deep}"#),
    ] {
        assert!(matches!(
            classify(body.as_bytes()),
            Err(BodyError::Parse(_))
        ));
    }
}

#[test]
fn a_repeated_member_reads_as_its_last_value_and_escaped_names_count() {
    let body = br#"{"jsonrpc":"1.0","jsonrpc":"2.0","id":"a","\u0069d":7,"method":"x","method":"tools/list"}"#;
    let Ok(Body::Single(Ok(Message::Request(r)))) = classify(body) else {
        panic!("{:?}", classify(body));
    };
    assert_eq!(r.id, Id::Number(7));
    assert_eq!(r.method, "tools/list");
    let body = br#"{"jsonrpc":"2.0","jsonrpc":"1.0","id":1,"method":"m"}"#;
    assert!(matches!(classify(body), Ok(Body::Single(Err(_)))));
}

#[test]
fn empty_batch_is_an_invalid_request() {
    for body in ["[]", " [ ] "] {
        let err = classify(body.as_bytes()).unwrap_err();
        assert_eq!(err, BodyError::EmptyBatch);
        assert_eq!(err.to_error().code, code::INVALID_REQUEST);
    }
}

#[test]
fn envelope_errors_are_invalid_requests_echoing_the_readable_id() {
    let n = |i| Some(Id::Number(i));
    let s = |t: &str| Some(Id::String(t.into()));
    let cases = [
        (r#"1"#, None),
        (r#""x""#, None),
        (r#"null"#, None),
        (r#"{}"#, None),
        (r#"{"jsonrpc":"2.0"}"#, None),
        (r#"{"id":1,"method":"m"}"#, n(1)),
        (r#"{"jsonrpc":"1.0","id":"a","method":"m"}"#, s("a")),
        (r#"{"jsonrpc":2.0,"id":2,"method":"m"}"#, n(2)),
        (r#"{"jsonrpc":"2.0","id":7,"method":3}"#, n(7)),
        (
            r#"{"jsonrpc":"2.0","id":3,"method":"m","params":[1]}"#,
            n(3),
        ),
        (
            r#"{"jsonrpc":"2.0","id":3,"method":"m","params":"p"}"#,
            n(3),
        ),
        (
            r#"{"jsonrpc":"2.0","id":3,"method":"m","params":null}"#,
            n(3),
        ),
        (r#"{"jsonrpc":"2.0","method":"m","params":[]}"#, None),
        (r#"{"jsonrpc":"2.0","id":null,"method":"m"}"#, None),
        (r#"{"jsonrpc":"2.0","id":1.5,"method":"m"}"#, None),
        (r#"{"jsonrpc":"2.0","id":true,"method":"m"}"#, None),
        (r#"{"jsonrpc":"2.0","id":{},"method":"m"}"#, None),
        (r#"{"jsonrpc":"2.0","id":[1],"method":"m"}"#, None),
        (
            r#"{"jsonrpc":"2.0","id":9223372036854775808,"method":"m"}"#,
            None,
        ),
        (
            r#"{"jsonrpc":"2.0","id":-4,"method":"m","result":1}"#,
            n(-4),
        ),
        (
            r#"{"jsonrpc":"2.0","method":"m","error":{"code":1,"message":""}}"#,
            None,
        ),
        (
            r#"{"jsonrpc":"2.0","id":"r","result":1,"error":{"code":1,"message":""}}"#,
            s("r"),
        ),
        (r#"{"jsonrpc":"2.0","id":"r"}"#, s("r")),
        (r#"{"jsonrpc":"2.0","id":5,"error":"oops"}"#, n(5)),
        (
            r#"{"jsonrpc":"2.0","id":5,"error":{"code":"x","message":"m"}}"#,
            n(5),
        ),
        (
            r#"{"jsonrpc":"2.0","id":5,"error":{"code":1.5,"message":"m"}}"#,
            n(5),
        ),
        (r#"{"jsonrpc":"2.0","id":5,"error":{"message":"m"}}"#, n(5)),
        (r#"{"jsonrpc":"2.0","id":null,"result":{}}"#, None),
        (r#"{"jsonrpc":"2.0","result":{}}"#, None),
        (
            r#"{"jsonrpc":"2.0","id":false,"error":{"code":1,"message":""}}"#,
            None,
        ),
    ];
    for (body, id) in cases {
        let err = invalid(body);
        assert_eq!(err.id, id, "{body}");
        assert_eq!(err.to_error().code, code::INVALID_REQUEST, "{body}");
        assert!(!err.reason.is_empty(), "{body}");
    }
}

#[test]
fn nesting_past_the_limit_in_an_ignored_member_is_refused_as_a_value_would_be() {
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"m","unknown":{deep}}}"#);
    assert!(serde_json::from_str::<Value>(&body).is_err());
    assert!(matches!(
        classify(body.as_bytes()),
        Err(BodyError::Parse(_))
    ));
}

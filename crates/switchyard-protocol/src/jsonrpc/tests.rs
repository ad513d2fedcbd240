use super::*;
use serde_json::json;

fn single(body: &str) -> Result<Message, Invalid> {
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
fn valid_messages_of_every_kind() {
    let req = single(
        r#"{"jsonrpc":"2.0","id":"a-1","method":"tools/call","params":{"name":"x","_meta":{"k":1}},"extra":true}"#,
    );
    let Ok(Message::Request(req)) = req else {
        panic!("{req:?}")
    };
    assert_eq!(req.id, Id::String("a-1".into()));
    assert_eq!(req.param_str("name"), Some("x"));
    assert_eq!(req.meta().and_then(|m| m.get("k")), Some(&json!(1)));

    let cases = [
        (
            r#"{"jsonrpc":"2.0","id":-9,"method":"ping"}"#,
            Message::Request(Request::new(Id::Number(-9), "ping", None)),
        ),
        (
            r#"{"jsonrpc":"2.0","method":"notifications/initialized","params":{}}"#,
            Message::Notification(Notification::new(
                "notifications/initialized",
                Some(Map::new()),
            )),
        ),
        (
            r#"{"jsonrpc":"2.0","id":0,"result":null}"#,
            Message::Response(Response::result(Id::Number(0), Value::Null)),
        ),
        (
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#,
            Message::Response(Response::error(
                None,
                ErrorObject::new(-32700, "Parse error"),
            )),
        ),
        (
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"bad","data":[1]}}"#,
            Message::Response(Response::error(
                None,
                ErrorObject::new(-32600, "bad").with_data(json!([1])),
            )),
        ),
    ];
    for (body, want) in cases {
        assert_eq!(single(body), Ok(want), "{body}");
    }
}

#[test]
fn batches_judge_each_element_alone() {
    let body = r#"[{"jsonrpc":"2.0","id":1,"method":"a"}, 1, {"jsonrpc":"2.0","method":"n"},
        {"jsonrpc":"2.0","id":5,"method":3}, [], {"jsonrpc":"2.0","id":2,"result":{}}]"#;
    let Ok(Body::Batch(items)) = classify(body.as_bytes()) else {
        panic!("not a batch")
    };
    assert_eq!(items.len(), 6);
    assert!(matches!(&items[0], Ok(Message::Request(r)) if r.id == Id::Number(1)));
    assert_eq!(items[1].as_ref().unwrap_err().id, None);
    assert!(matches!(&items[2], Ok(Message::Notification(n)) if n.method == "n"));
    assert_eq!(items[3].as_ref().unwrap_err().id, Some(Id::Number(5)));
    assert_eq!(items[4].as_ref().unwrap_err().id, None);
    assert!(matches!(&items[5], Ok(Message::Response(r)) if r.outcome == Ok(json!({}))));
}

#[test]
fn serialization_carries_version_and_null_id() {
    let err = Message::Response(Response::error(None, ErrorObject::new(-32600, "x")));
    assert_eq!(
        err.to_value(),
        json!({"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"x"}})
    );
    let req = Message::Request(Request::new(Id::String("7".into()), "m", None));
    assert_eq!(req.to_json(), r#"{"jsonrpc":"2.0","id":"7","method":"m"}"#);
    assert_eq!(serde_json::to_value(&req).unwrap(), req.to_value());
    assert_eq!(Id::String("7".into()).to_string(), "\"7\"");
    assert_eq!(Id::Number(7).to_string(), "7");
}

//! Valid messages, batches and serialization.

use super::tests::single;
use super::*;
use serde_json::json;

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

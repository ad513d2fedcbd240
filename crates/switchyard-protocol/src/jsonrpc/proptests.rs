//! Property tests: every message the model can hold survives serialization.

use super::*;
use proptest::prelude::*;

fn id() -> impl Strategy<Value = Id> {
    prop_oneof![
        any::<i64>().prop_map(Id::Number),
        ".{0,12}".prop_map(Id::String)
    ]
}

/// Any finite float: with `float_roundtrip`, JSON text gives every one back bit for bit.
fn finite_float() -> impl Strategy<Value = f64> {
    use prop::num::f64::{NEGATIVE, NORMAL, POSITIVE, SUBNORMAL, ZERO};
    POSITIVE | NEGATIVE | NORMAL | SUBNORMAL | ZERO
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        finite_float().prop_map(Value::from),
        ".{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((".{0,6}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn params() -> impl Strategy<Value = Option<Map<String, Value>>> {
    prop::option::of(
        prop::collection::vec((".{0,6}", json_value()), 0..4)
            .prop_map(|kv| kv.into_iter().collect()),
    )
}

fn error_object() -> impl Strategy<Value = ErrorObject> {
    (any::<i64>(), ".{0,16}", prop::option::of(json_value())).prop_map(|(code, message, data)| {
        // `"data": null` reads back as no data, so the model never holds `Some(Null)`.
        let data = data.filter(|d| !d.is_null());
        ErrorObject {
            code,
            message,
            data,
        }
    })
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (id(), ".{0,16}", params()).prop_map(|(i, m, p)| Message::Request(Request::new(i, m, p))),
        (".{0,16}", params()).prop_map(|(m, p)| Message::Notification(Notification::new(m, p))),
        (id(), json_value()).prop_map(|(i, v)| Message::Response(Response::result(i, v))),
        (prop::option::of(id()), error_object())
            .prop_map(|(i, e)| Message::Response(Response::error(i, e))),
    ]
}

/// What `classify` answered when it parsed a whole `Value` first: the reference it must
/// agree with.
fn classify_through_value(bytes: &[u8]) -> Result<Body, BodyError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| BodyError::Parse(e.to_string()))?;
    match value {
        Value::Array(items) if items.is_empty() => Err(BodyError::EmptyBatch),
        Value::Array(items) => Ok(Body::Batch(
            items.into_iter().map(Message::from_value).collect(),
        )),
        other => Ok(Body::Single(Message::from_value(other))),
    }
}

/// A JSON object as text, built member by member: names may repeat, and the values are
/// often the ones the rules look for.
fn envelope_text() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        Just("jsonrpc"),
        Just("id"),
        Just("method"),
        Just("params"),
        Just("result"),
        Just("error"),
        Just("other"),
    ];
    let value = prop_oneof![
        Just(Value::from("1.0")),
        Just(Value::Null),
        id().prop_map(|i| serde_json::to_value(i).unwrap_or_default()),
        ".{0,8}".prop_map(Value::from),
        error_object().prop_map(|e| serde_json::to_value(e).unwrap_or_default()),
        json_value(),
    ];
    // Most objects start as a valid request, notification or response, so that the
    // members after them decide the outcome.
    let start = prop_oneof![
        Just(r#""jsonrpc":"2.0","id":1,"method":"m""#),
        Just(r#""jsonrpc":"2.0","method":"m""#),
        Just(r#""jsonrpc":"2.0","id":"a","result":{}"#),
        Just(r#""jsonrpc":"2.0","id":2,"error":{"code":1,"message":"x"}"#),
        Just(r#""jsonrpc":"2.0""#),
        Just(""),
    ];
    (start, prop::collection::vec((name, value), 0..5)).prop_map(|(start, members)| {
        let members = members
            .into_iter()
            .map(|(k, v)| format!("{}:{v}", Value::from(k)));
        let all: Vec<String> = std::iter::once(start.to_owned())
            .filter(|s| !s.is_empty())
            .chain(members)
            .collect();
        format!("{{{}}}", all.join(","))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn classify_agrees_with_reading_a_value_first(
        objects in prop::collection::vec(envelope_text(), 1..4),
        batch in any::<bool>(),
    ) {
        let body = if batch || objects.len() > 1 {
            format!("[{}]", objects.join(","))
        } else {
            objects[0].clone()
        };
        prop_assert_eq!(classify(body.as_bytes()), classify_through_value(body.as_bytes()));
    }

    #[test]
    fn classify_agrees_with_reading_a_value_first_on_any_json(value in json_value()) {
        let body = value.to_string();
        prop_assert_eq!(classify(body.as_bytes()), classify_through_value(body.as_bytes()));
    }
}

proptest! {
    #[test]
    fn value_round_trip(msg in message()) {
        prop_assert_eq!(Message::from_value(msg.to_value()), Ok(msg));
    }

    #[test]
    fn direct_serialization_matches_the_value(msg in message()) {
        prop_assert_eq!(msg.to_json(), msg.to_value().to_string());
    }

    #[test]
    fn text_round_trip_through_classify(msg in message()) {
        let json = msg.to_json();
        prop_assert_eq!(classify(json.as_bytes()), Ok(Body::Single(Ok(msg))));
    }

    #[test]
    fn batch_round_trip(msgs in prop::collection::vec(message(), 1..5)) {
        let body = Value::Array(msgs.iter().map(Message::to_value).collect()).to_string();
        let want = Body::Batch(msgs.into_iter().map(Ok).collect());
        prop_assert_eq!(classify(body.as_bytes()), Ok(want));
    }

    #[test]
    fn classify_never_panics_and_valid_messages_round_trip(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(Body::Single(Ok(msg))) = classify(&bytes) {
            prop_assert_eq!(Message::from_value(msg.to_value()), Ok(msg));
        }
    }
}

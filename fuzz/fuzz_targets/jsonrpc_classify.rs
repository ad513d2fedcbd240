//! The JSON-RPC classifier on arbitrary bytes: it never panics, every error maps to the
//! right code, it judges exactly as reading a whole `Value` first and applying
//! `Message::from_value` would, and every message it accepts survives `to_value`/`from_value`
//! and a trip through JSON text unchanged.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use switchyard_protocol::jsonrpc::{Body, BodyError, Invalid, Message, classify, code};

/// The classifier's reference: a `Value` first, then `from_value` per message.
fn through_value(bytes: &[u8]) -> Option<Body> {
    match serde_json::from_slice::<Value>(bytes).ok()? {
        Value::Array(items) if items.is_empty() => None,
        Value::Array(items) => Some(Body::Batch(
            items.into_iter().map(Message::from_value).collect(),
        )),
        other => Some(Body::Single(Message::from_value(other))),
    }
}

fn check(item: &Result<Message, Invalid>) {
    match item {
        Ok(msg) => {
            assert_eq!(Message::from_value(msg.to_value()).as_ref(), Ok(msg));
            let text = msg.to_json();
            assert_eq!(
                classify(text.as_bytes()),
                Ok(Body::Single(Ok(msg.clone()))),
                "text round trip of {text}"
            );
        }
        Err(invalid) => assert_eq!(invalid.to_error().code, code::INVALID_REQUEST),
    }
}

fuzz_target!(|bytes: &[u8]| {
    let got = classify(bytes);
    if let Some(want) = through_value(bytes) {
        assert_eq!(
            got.as_ref().ok(),
            Some(&want),
            "classify disagrees with the Value path"
        );
    } else if let Ok(body) = &got {
        panic!("classify accepted what the Value path refuses: {body:?}");
    }
    match got {
        Ok(Body::Single(item)) => check(&item),
        Ok(Body::Batch(items)) => {
            assert!(!items.is_empty());
            items.iter().for_each(check);
        }
        Err(e @ BodyError::Parse(_)) => assert_eq!(e.to_error().code, code::PARSE_ERROR),
        Err(e @ BodyError::EmptyBatch) => assert_eq!(e.to_error().code, code::INVALID_REQUEST),
    }
});

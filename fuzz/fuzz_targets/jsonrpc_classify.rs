//! The JSON-RPC classifier on arbitrary bytes: it never panics, every error maps to the
//! right code, and every message it accepts survives `to_value`/`from_value` and a trip
//! through JSON text unchanged.

#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_protocol::jsonrpc::{Body, BodyError, Invalid, Message, classify, code};

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
    match classify(bytes) {
        Ok(Body::Single(item)) => check(&item),
        Ok(Body::Batch(items)) => {
            assert!(!items.is_empty());
            items.iter().for_each(check);
        }
        Err(e @ BodyError::Parse(_)) => assert_eq!(e.to_error().code, code::PARSE_ERROR),
        Err(e @ BodyError::EmptyBatch) => assert_eq!(e.to_error().code, code::INVALID_REQUEST),
    }
});

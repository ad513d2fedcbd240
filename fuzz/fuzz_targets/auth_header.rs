//! The `Authorization` header parser and the JSON depth scanner on arbitrary bytes: nothing
//! panics; a token found is a non-empty run of token68 bytes inside the value, and the same
//! value with the scheme in other case gives the same token; the scanner agrees with the
//! depth of what `serde_json` parses.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use switchyard_protocol::depth::nesting_exceeds;
use switchyard_protocol::headers::bearer_token;

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fuzz_target!(|bytes: &[u8]| {
    if let Some(token) = bearer_token(bytes) {
        assert!(!token.is_empty());
        assert!(token.iter().all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(b)));
        let upper: Vec<u8> = bytes.to_ascii_uppercase();
        let lower: Vec<u8> = bytes.to_ascii_lowercase();
        assert_eq!(bearer_token(&upper).map(<[u8]>::len), Some(token.len()));
        assert_eq!(bearer_token(&lower).map(<[u8]>::len), Some(token.len()));
    }
    let mut value = b"Bearer ".to_vec();
    value.extend_from_slice(bytes);
    let _ = bearer_token(&value);

    // serde_json stops at 128 levels; below that its depth is the truth.
    if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
        let d = depth(&v);
        for max in [0, 1, 2, 8, 64] {
            assert_eq!(nesting_exceeds(bytes, max), d > max, "max {max}");
        }
    }
});

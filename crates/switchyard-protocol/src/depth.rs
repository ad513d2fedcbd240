//! How deeply a JSON text nests, found without parsing it.
//!
//! [`nesting_exceeds`] runs before the JSON-RPC classifier so that a body nested thousands
//! of levels deep is refused plainly (the node answers 400 naming `limits.max_json_depth`)
//! instead of reaching `serde_json`'s own recursion limit (128) as a generic parse error.
//! It only counts brackets outside strings; the text need not be valid JSON (the
//! classifier judges that next).

/// Whether `bytes` nests arrays and objects more than `max` levels deep, counting brackets
/// outside string literals (`"[["` is depth 0, `[[]]` depth 2). Linear time, no allocation.
pub fn nesting_exceeds(bytes: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::nesting_exceeds;
    use proptest::prelude::*;
    use serde_json::Value;

    /// The depth of a parsed value, as the scanner counts it.
    fn depth(v: &Value) -> usize {
        match v {
            Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
            Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        assert!(!nesting_exceeds(br#"{"a":"[[[[[[\"{{{{"}"#, 1));
        assert!(nesting_exceeds(br#"{"a":[{"b":[]}]}"#, 3));
        assert!(!nesting_exceeds(br#"{"a":[{"b":[]}]}"#, 4));
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(nesting_exceeds(deep.as_bytes(), 64));
        assert!(!nesting_exceeds(deep.as_bytes(), 10_000));
    }

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            "[\\[\\]{}\"\\\\a-z]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(8, 64, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[\\[\"\\\\a-z]{0,4}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn agrees_with_the_parsed_depth(v in json(), max in 0usize..10) {
            let text = serde_json::to_string(&v).unwrap();
            prop_assert_eq!(nesting_exceeds(text.as_bytes(), max), depth(&v) > max, "{}", text);
        }
    }
}

use super::*;

fn accepts(json: bool, event_stream: bool) -> Accepts {
    Accepts { json, event_stream }
}

#[test]
fn accept_lists_and_wildcards() {
    let cases = [
        ("application/json, text/event-stream", accepts(true, true)),
        ("text/event-stream,application/json", accepts(true, true)),
        ("Application/JSON", accepts(true, false)),
        ("TEXT/Event-Stream", accepts(false, true)),
        ("*/*", accepts(true, true)),
        ("application/*", accepts(true, false)),
        ("APPLICATION/*", accepts(true, false)),
        ("text/*", accepts(false, true)),
        ("application/json; charset=utf-8", accepts(true, false)),
        (
            " application/json ;q=0.5 , text/event-stream;level=1",
            accepts(true, true),
        ),
        ("", accepts(false, false)),
        ("garbage, ,;;", accepts(false, false)),
        (
            "application/jsonx, text/event-streams",
            accepts(false, false),
        ),
        ("application/json-seq, text/plain", accepts(false, false)),
        ("*/json, event-stream", accepts(false, false)),
    ];
    for (header, want) in cases {
        assert_eq!(parse_accept(header), want, "{header:?}");
    }
}

#[test]
fn accept_q_zero_refuses_and_the_most_specific_range_wins() {
    let cases = [
        (
            "application/json;q=0, text/event-stream",
            accepts(false, true),
        ),
        (
            "application/json; Q=0.000, text/event-stream",
            accepts(false, true),
        ),
        ("application/json;q = 0", accepts(false, false)),
        ("*/*;q=0", accepts(false, false)),
        ("*/*, text/event-stream;q=0", accepts(true, false)),
        ("text/event-stream;q=0, */*", accepts(true, false)),
        ("application/*;q=0, application/json", accepts(true, false)),
        ("application/json, application/*;q=0", accepts(true, false)),
        ("application/json;q=0, application/*", accepts(false, false)),
        ("text/*;q=0, */*", accepts(true, false)),
        (
            "application/json;q=0, application/json;q=0.3",
            accepts(true, false),
        ),
        ("application/json;q=0.001", accepts(true, false)),
        ("application/json;q=abc", accepts(true, false)),
        ("application/json;q=NaN", accepts(true, false)),
        ("application/json;q=-1", accepts(false, false)),
    ];
    for (header, want) in cases {
        assert_eq!(parse_accept(header), want, "{header:?}");
    }
}

#[test]
fn json_content_types() {
    for ok in [
        "application/json",
        "Application/JSON",
        "application/json; charset=utf-8",
        " application/json ;charset=UTF-8",
    ] {
        assert!(is_json_content_type(ok), "{ok:?}");
    }
    for bad in [
        "",
        "text/json",
        "application/json-seq",
        "application/jsonp",
        "application/x-json",
        "application/json+x",
        "text/event-stream",
    ] {
        assert!(!is_json_content_type(bad), "{bad:?}");
    }
}

#[test]
fn session_ids_are_visible_ascii() {
    for ok in ["a", "!", "~", "0f4c-9a_Z.~!", &"x".repeat(256)] {
        assert!(is_valid_session_id(ok), "{ok:?}");
    }
    for bad in [
        "",
        " ",
        "a b",
        "a\tb",
        "a\u{7f}",
        "é",
        "a\n",
        &"x".repeat(257),
    ] {
        assert!(!is_valid_session_id(bad), "{bad:?}");
    }
}

#[test]
fn bearer_tokens_are_read_strictly() {
    use super::bearer_token;
    assert_eq!(
        bearer_token(b"Bearer abc.DEF-_~+/="),
        Some(&b"abc.DEF-_~+/="[..])
    );
    assert_eq!(bearer_token(b"bearer   tok  "), Some(&b"tok"[..]));
    for bad in [
        &b"Basic abc"[..],
        b"Bearer",
        b"Bearer ",
        b"Bearer a b",
        b"Bearer \xff",
        b"tok",
    ] {
        assert_eq!(
            bearer_token(bad),
            None,
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

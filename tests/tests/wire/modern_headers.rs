//! 2026-07-28 request rules: each malformed request gets its status and JSON-RPC code, and
//! the error echoes the request id. Every case starts from a request the node accepts (checked
//! too), so a rejection can only come from the one thing the case broke.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::modern_support::{
    H_METHOD, H_NAME, H_VERSION, HEADER_MISMATCH, INVALID_PARAMS, LEGACY, META_CAPABILITIES,
    META_VERSION, METHOD_NOT_FOUND, MODERN, UNSUPPORTED_VERSION, assert_rejected, meta_of, modern,
    result_of, sentinel, set,
};
use crate::support::Wire;

const BAD: StatusCode = StatusCode::BAD_REQUEST;

/// A change to a well-formed request body.
type BodyEdit = fn(&mut Value);

#[tokio::test]
async fn missing_protocol_version_header_is_header_mismatch() {
    let wire = Wire::start("demo");
    let body = modern(7, "tools/list", json!({}));
    wire.modern_call(&body).await;
    let response = wire
        .post_modern_edited(&body, |h| {
            h.remove(H_VERSION);
        })
        .send()
        .await
        .unwrap();
    assert_rejected(
        response,
        &body,
        BAD,
        HEADER_MISMATCH,
        "no MCP-Protocol-Version",
    )
    .await;
}

#[tokio::test]
async fn protocol_version_header_must_match_meta() {
    let wire = Wire::start("demo");
    // A legacy version in the header, the modern one in the body.
    let body = modern("a", "tools/list", json!({}));
    let response = wire
        .post_modern_edited(&body, |h| set(h, H_VERSION, "2025-11-25"))
        .send()
        .await
        .unwrap();
    assert_rejected(response, &body, BAD, HEADER_MISMATCH, "header 2025-11-25").await;

    // The modern version in the header, an unknown one in the body: the mismatch is
    // reported before version support.
    let mut body = modern("b", "tools/list", json!({}));
    meta_of(&mut body).insert(META_VERSION.into(), json!("v999.0.0"));
    let response = wire
        .post_modern_edited(&body, |h| set(h, H_VERSION, MODERN))
        .send()
        .await
        .unwrap();
    assert_rejected(response, &body, BAD, HEADER_MISMATCH, "_meta v999.0.0").await;
}

#[tokio::test]
async fn unsupported_version_lists_the_supported_ones() {
    let wire = Wire::start("demo");
    let mut body = modern(11, "server/discover", json!({}));
    meta_of(&mut body).insert(META_VERSION.into(), json!("v999.0.0"));
    // mirrored_headers copies the body's version into MCP-Protocol-Version.
    let response = wire.post_modern(&body).send().await.unwrap();
    let error = assert_rejected(response, &body, BAD, UNSUPPORTED_VERSION, "v999.0.0").await;
    let data = &error["error"]["data"];
    assert_eq!(data["requested"], "v999.0.0", "{error}");
    let supported: Vec<&str> = data["supported"]
        .as_array()
        .unwrap_or_else(|| panic!("no data.supported list: {error}"))
        .iter()
        .map(|v| v.as_str().expect("versions are strings"))
        .collect();
    for v in std::iter::once(&MODERN).chain(LEGACY) {
        assert!(supported.contains(v), "{v} missing from {supported:?}");
    }
    assert!(!supported.contains(&"v999.0.0"), "{supported:?}");
}

#[tokio::test]
async fn missing_meta_fields_are_invalid_params() {
    let wire = Wire::start("demo");
    let cases: [(&str, BodyEdit); 4] = [
        ("no _meta", |b| {
            b["params"].as_object_mut().unwrap().remove("_meta");
        }),
        ("params {}", |b| b["params"] = json!({})),
        ("_meta without protocolVersion", |b| {
            meta_of(b).remove(META_VERSION);
        }),
        ("_meta without clientCapabilities", |b| {
            meta_of(b).remove(META_CAPABILITIES);
        }),
    ];
    for (i, (case, edit)) in cases.into_iter().enumerate() {
        let mut body = modern(100 + i as i64, "server/discover", json!({}));
        edit(&mut body);
        // The header still says 2026-07-28: the request is modern, its body incomplete.
        let response = wire
            .post_modern_edited(&body, |h| set(h, H_VERSION, MODERN))
            .send()
            .await
            .unwrap();
        assert_rejected(response, &body, BAD, INVALID_PARAMS, case).await;
    }
    // clientInfo is optional.
    let mut body = modern(120, "server/discover", json!({}));
    meta_of(&mut body).remove("io.modelcontextprotocol/clientInfo");
    let answer = wire.modern_call(&body).await;
    result_of(&answer);
}

#[tokio::test]
async fn mcp_method_header_must_be_present_and_equal() {
    let wire = Wire::start("demo");
    let body = modern(5, "tools/list", json!({}));
    wire.modern_call(&body).await;
    let cases: [(&str, Option<&str>); 4] = [
        ("missing", None),
        ("another method", Some("prompts/list")),
        ("upper case", Some("TOOLS/LIST")),
        ("trailing slash", Some("tools/list/")),
    ];
    for (case, value) in cases {
        let response = wire
            .post_modern_edited(&body, |h| match value {
                Some(v) => set(h, H_METHOD, v),
                None => {
                    h.remove(H_METHOD);
                }
            })
            .send()
            .await
            .unwrap();
        assert_rejected(response, &body, BAD, HEADER_MISMATCH, case).await;
    }
}

#[tokio::test]
async fn mcp_name_header_must_be_present_and_equal() {
    let wire = Wire::start("demo");
    let email = wire.demo_email().await;
    let requests = [
        modern(
            1,
            "tools/call",
            json!({"name": "get_client", "arguments": {"email": email}}),
        ),
        modern(
            2,
            "prompts/get",
            json!({"name": "client_summary", "arguments": {"client_email": email}}),
        ),
        modern(3, "resources/read", json!({"uri": "clients://all"})),
    ];
    for body in &requests {
        let method = body["method"].as_str().unwrap();
        let answer = wire.modern_call(body).await;
        assert_eq!(result_of(&answer)["resultType"], "complete", "{answer}");

        let response = wire
            .post_modern_edited(body, |h| {
                h.remove(H_NAME);
            })
            .send()
            .await
            .unwrap();
        assert_rejected(
            response,
            body,
            BAD,
            HEADER_MISMATCH,
            &format!("{method}: no Mcp-Name"),
        )
        .await;

        let response = wire
            .post_modern_edited(body, |h| set(h, H_NAME, "list_bookings"))
            .send()
            .await
            .unwrap();
        assert_rejected(
            response,
            body,
            BAD,
            HEADER_MISMATCH,
            &format!("{method}: other name"),
        )
        .await;

        // Surrounding spaces are not part of a header value.
        let name = mirrored_name(body);
        let response = wire
            .post_modern_edited(body, |h| set(h, H_NAME, &format!("  {name} ")))
            .send()
            .await
            .unwrap();
        let answer = crate::modern_support::modern_answer(response, body).await;
        result_of(&answer);
    }
}

fn mirrored_name(body: &Value) -> String {
    let p = &body["params"];
    p["name"].as_str().or(p["uri"].as_str()).unwrap().to_owned()
}

#[tokio::test]
async fn mcp_name_base64_sentinel_is_decoded_before_comparing() {
    let wire = Wire::start("demo");
    let body = modern(
        9,
        "tools/call",
        json!({"name": "list_bookings", "arguments": {}}),
    );
    // A valid sentinel of the right name is accepted.
    let response = wire
        .post_modern_edited(&body, |h| set(h, H_NAME, &sentinel("list_bookings")))
        .send()
        .await
        .unwrap();
    let answer = crate::modern_support::modern_answer(response, &body).await;
    assert_eq!(result_of(&answer)["resultType"], "complete", "{answer}");

    // "list_bookings" is bGlzdF9ib29raW5ncw== in Base64.
    let cases = [
        ("a valid sentinel of another name", sentinel("get_client")),
        ("bad padding", "=?base64?bGlzdF9ib29raW5ncw?=".to_owned()),
        (
            "bad characters",
            "=?base64?bGlzdF9i$29raW5ncw==?=".to_owned(),
        ),
        ("not Base64 at all", "=?base64?!!!?=".to_owned()),
        (
            "the raw Base64 without the sentinel",
            "bGlzdF9ib29raW5ncw==".to_owned(),
        ),
    ];
    for (case, value) in cases {
        let response = wire
            .post_modern_edited(&body, |h| set(h, H_NAME, &value))
            .send()
            .await
            .unwrap();
        assert_rejected(response, &body, BAD, HEADER_MISMATCH, case).await;
    }
}

#[tokio::test]
async fn unknown_and_removed_methods_are_404_method_not_found() {
    let wire = Wire::start("demo");
    let initialize = modern(
        "init",
        "initialize",
        json!({
            "protocolVersion": MODERN,
            "capabilities": {},
            "clientInfo": {"name": "wire", "version": "0"}
        }),
    );
    let mut bodies = vec![initialize];
    for (i, (method, params)) in [
        ("no/such/method", json!({})),
        ("ping", json!({})),
        ("logging/setLevel", json!({"level": "debug"})),
        ("resources/subscribe", json!({"uri": "clients://all"})),
        ("resources/unsubscribe", json!({"uri": "clients://all"})),
    ]
    .into_iter()
    .enumerate()
    {
        bodies.push(modern(i as i64 + 40, method, params));
    }
    for body in &bodies {
        let response = wire.post_modern(body).send().await.unwrap();
        assert!(
            response.headers().get(crate::support::SESSION).is_none(),
            "{body}: a session id on a modern answer"
        );
        let method = body["method"].as_str().unwrap();
        assert_rejected(
            response,
            body,
            StatusCode::NOT_FOUND,
            METHOD_NOT_FOUND,
            method,
        )
        .await;
    }
}

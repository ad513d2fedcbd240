//! 2026-07-28 answers: `resultType` and `serverInfo` on every result, caching fields on list
//! and read results, `server/discover`, no sessions, no GET or DELETE, and log messages only
//! for requests that ask for them.

use reqwest::header::{ACCEPT, ALLOW};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use switchyard_tests::Node;

use crate::modern_support::{
    H_VERSION, LEGACY, META_LOG_LEVEL, META_SERVER_INFO, MODERN, meta_of, modern, modern_answer,
    modern_messages, result_of, set,
};
use crate::support::{SESSION, Wire, request};

const LIST_TTL: u64 = 4321;
const READ_TTL: u64 = 17;

/// A demo node whose caching hints are not the defaults, so the test sees they come from
/// the configuration.
fn demo_with_ttls() -> Wire {
    Wire::with_node(
        Node::builder("demo")
            .env("SWITCHYARD__STATELESS__LIST_TTL_MS", LIST_TTL.to_string())
            .env("SWITCHYARD__STATELESS__READ_TTL_MS", READ_TTL.to_string())
            .start(),
    )
}

#[tokio::test]
async fn every_result_has_result_type_server_info_and_caching_hints() {
    let wire = demo_with_ttls();
    let email = wire.demo_email().await;

    // (method, params, the ttlMs it must carry if cacheable)
    let cases: Vec<(&str, Value, Option<u64>)> = vec![
        ("server/discover", json!({}), Some(LIST_TTL)),
        ("tools/list", json!({}), Some(LIST_TTL)),
        ("prompts/list", json!({}), Some(LIST_TTL)),
        ("resources/list", json!({}), Some(LIST_TTL)),
        ("resources/templates/list", json!({}), Some(LIST_TTL)),
        (
            "resources/read",
            json!({"uri": "clients://all"}),
            Some(READ_TTL),
        ),
        (
            "resources/read",
            json!({"uri": format!("clients://{email}")}),
            Some(READ_TTL),
        ),
        (
            "tools/call",
            json!({"name": "get_client", "arguments": {"email": email}}),
            None,
        ),
        // A tool error is still a complete result.
        (
            "tools/call",
            json!({"name": "get_client", "arguments": {"email": "nobody@example.invalid"}}),
            None,
        ),
        (
            "prompts/get",
            json!({"name": "client_summary", "arguments": {"client_email": email}}),
            None,
        ),
        (
            "completion/complete",
            json!({
                "ref": {"type": "ref/prompt", "name": "client_summary"},
                "argument": {"name": "client_email", "value": ""}
            }),
            None,
        ),
    ];
    for (i, (method, params, ttl)) in cases.into_iter().enumerate() {
        let body = modern(i as i64 + 10, method, params);
        let answer = wire.modern_call(&body).await;
        let result = result_of(&answer);
        assert_eq!(result["resultType"], "complete", "{method}: {answer}");
        let info = &result["_meta"][META_SERVER_INFO];
        assert_eq!(info["name"], "switchyard-demo", "{method}: {answer}");
        assert!(info["version"].is_string(), "{method}: {answer}");
        if let Some(ttl) = ttl {
            assert_eq!(result["ttlMs"], json!(ttl), "{method}: {answer}");
            let scope = result["cacheScope"].as_str().unwrap_or_default();
            assert!(
                scope == "public" || scope == "private",
                "{method}: cacheScope {scope:?}"
            );
        }
    }
    // The completion found the client by its empty prefix.
    let completion = wire
        .modern_call(&modern(
            99,
            "completion/complete",
            json!({
                "ref": {"type": "ref/prompt", "name": "client_summary"},
                "argument": {"name": "client_email", "value": &email[..1]}
            }),
        ))
        .await;
    let values = completion["result"]["completion"]["values"]
        .as_array()
        .unwrap();
    assert!(values.iter().any(|v| v == &json!(email)), "{completion}");
}

#[tokio::test]
async fn discover_names_versions_capabilities_and_server() {
    let wire = Wire::start("demo");
    let answer = wire
        .modern_call(&modern("d", "server/discover", json!({})))
        .await;
    let result = result_of(&answer);
    let versions: Vec<&str> = result["supportedVersions"]
        .as_array()
        .unwrap_or_else(|| panic!("no supportedVersions: {answer}"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for v in std::iter::once(&MODERN).chain(LEGACY) {
        assert!(versions.contains(v), "{v} missing from {versions:?}");
    }

    // The same server answers a legacy initialize: same capabilities, same identity.
    let init = wire
        .post(&crate::support::initialize_body("2025-11-25"))
        .send()
        .await
        .unwrap();
    let init = crate::support::response_for(init, &json!(0)).await;
    assert_eq!(
        result["capabilities"], init["result"]["capabilities"],
        "discover and initialize disagree on capabilities"
    );
    let info = &result["_meta"][META_SERVER_INFO];
    assert_eq!(
        info["name"], init["result"]["serverInfo"]["name"],
        "{answer}"
    );
    assert_eq!(
        info["version"], init["result"]["serverInfo"]["version"],
        "{answer}"
    );
    assert_eq!(
        result["instructions"], init["result"]["instructions"],
        "{answer}"
    );
}

#[tokio::test]
async fn get_and_delete_naming_the_modern_version_are_405() {
    let wire = Wire::start("demo");
    let get = wire
        .raw(Method::GET)
        .header(ACCEPT, "text/event-stream")
        .header(H_VERSION, MODERN)
        .send()
        .await
        .unwrap();
    let delete = wire
        .raw(Method::DELETE)
        .header(H_VERSION, MODERN)
        .header(SESSION, "whatever-it-is")
        .send()
        .await
        .unwrap();
    for (what, response) in [("GET", get), ("DELETE", delete)] {
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{what}: {response:?}"
        );
        let allow = response
            .headers()
            .get(ALLOW)
            .map(|v| v.to_str().unwrap().to_ascii_uppercase())
            .unwrap_or_default();
        assert!(allow.contains("POST"), "{what}: Allow {allow:?}");
    }
}

#[tokio::test]
async fn a_session_id_on_a_modern_request_is_ignored() {
    let wire = Wire::start("demo");
    // An id no node ever minted: no 404, no session.
    let body = modern(1, "tools/list", json!({}));
    let response = wire
        .post_modern_edited(&body, |h| set(h, SESSION, "never-minted-0123456789"))
        .send()
        .await
        .unwrap();
    let answer = modern_answer(response, &body).await;
    assert_eq!(result_of(&answer)["resultType"], "complete");

    // A live legacy session's id: the modern request is still served statelessly, and the
    // session is untouched.
    let session = wire.initialize("2025-11-25").await;
    let body = modern(2, "tools/list", json!({}));
    let response = wire
        .post_modern_edited(&body, |h| set(h, SESSION, &session.id))
        .send()
        .await
        .unwrap();
    let answer = modern_answer(response, &body).await;
    assert_eq!(result_of(&answer)["resultType"], "complete");
    let legacy = wire
        .call(&session, &request(3, "tools/list", json!({})))
        .await;
    assert!(
        legacy["result"].get("resultType").is_none(),
        "the legacy session now answers like 2026-07-28: {legacy}"
    );

    // And no modern answer of any kind mints one.
    let discover = modern(4, "server/discover", json!({}));
    let response = wire.post_modern(&discover).send().await.unwrap();
    modern_answer(response, &discover).await;
}

#[tokio::test]
async fn notifications_are_accepted_with_202() {
    let wire = Wire::start("demo");
    let mut body = modern(0, "notifications/cancelled", json!({"requestId": 12}));
    body.as_object_mut().unwrap().remove("id");
    let response = wire.post_modern(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED, "{response:?}");
    assert!(response.headers().get(SESSION).is_none());
}

/// The `notifications/message` in a modern answer to the logging tool `tool`.
async fn log_messages(wire: &Wire, tool: &str, id: i64, level: Option<&str>) -> Vec<Value> {
    let mut body = modern(id, "tools/call", json!({"name": tool, "arguments": {}}));
    if let Some(level) = level {
        meta_of(&mut body).insert(META_LOG_LEVEL.into(), json!(level));
    }
    let response = wire.post_modern(&body).send().await.unwrap();
    assert!(response.headers().get(SESSION).is_none());
    let messages = modern_messages(response).await;
    let last = messages.last().expect("at least the response");
    assert_eq!(
        last["id"],
        json!(id),
        "the response comes last: {messages:?}"
    );
    assert_eq!(last["result"]["resultType"], "complete", "{messages:?}");
    messages
        .into_iter()
        .filter(|m| m["method"] == "notifications/message")
        .collect()
}

#[tokio::test]
async fn log_messages_only_for_requests_that_ask() {
    let wire = Wire::start("everything");
    let info_tool = "test_tool_with_logging"; // three messages at info
    let none = log_messages(&wire, info_tool, 1, None).await;
    assert!(none.is_empty(), "no logLevel, yet: {none:?}");

    let debug = log_messages(&wire, info_tool, 2, Some("debug")).await;
    assert_eq!(debug.len(), 3, "logLevel debug: {debug:?}");
    for m in &debug {
        assert_eq!(m["params"]["level"], "info", "{m}");
    }

    // The threshold: test_logging_tool logs at info, notice and warning.
    let levels = |messages: Vec<Value>| -> Vec<String> {
        messages
            .iter()
            .map(|m| m["params"]["level"].as_str().unwrap_or("?").to_owned())
            .collect()
    };
    let tool = "test_logging_tool";
    assert_eq!(
        levels(log_messages(&wire, tool, 3, Some("info")).await),
        ["info", "notice", "warning"]
    );
    assert_eq!(
        levels(log_messages(&wire, tool, 4, Some("notice")).await),
        ["notice", "warning"]
    );
    assert!(log_messages(&wire, tool, 5, Some("error")).await.is_empty());

    // The level is per request: asking once changed nothing for the next one.
    let after = log_messages(&wire, tool, 6, None).await;
    assert!(
        after.is_empty(),
        "a later request without logLevel: {after:?}"
    );
}

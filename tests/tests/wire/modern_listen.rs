//! `subscriptions/listen`: the acknowledgment comes first and names the subscription; every
//! change notice a listener opted into arrives tagged with its id, from whichever node
//! produced it; nothing it did not opt into arrives.

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchyard_tests::{Node, RedisServer, SseReader};

use crate::modern_support::{META_SUBSCRIPTION_ID, modern, result_of};
use crate::support::{SESSION, STEP, Wire, content_type};

/// The URI the `everything` fixture's `test_trigger_resource_update` announces.
const WATCHED: &str = "test://watched-resource";

/// An open listen stream.
struct Listener {
    id: Value,
    sse: SseReader,
    /// The filter the node acknowledged.
    honored: Value,
}

impl Listener {
    /// Opens `subscriptions/listen` with id `id` and `filter`, and reads the acknowledgment.
    async fn open(wire: &Wire, id: Value, filter: Value) -> Listener {
        let body = modern(
            id.clone(),
            "subscriptions/listen",
            json!({ "notifications": filter }),
        );
        let response = wire.post_modern(&body).send().await.expect("POST listen");
        assert_eq!(response.status(), StatusCode::OK, "{response:?}");
        assert!(response.headers().get(SESSION).is_none());
        let ct = content_type(response.headers());
        assert!(
            ct.starts_with("text/event-stream"),
            "listen answered {ct:?}"
        );
        let mut sse = SseReader::new(response);
        let (_, ack) = sse.next_json(STEP).await.expect("an acknowledgment");
        assert_eq!(
            ack["method"], "notifications/subscriptions/acknowledged",
            "the first message must be the acknowledgment: {ack}"
        );
        assert_eq!(
            ack["params"]["_meta"][META_SUBSCRIPTION_ID], id,
            "the subscription id is the request id, verbatim: {ack}"
        );
        let honored = ack["params"]["notifications"].clone();
        Listener { id, sse, honored }
    }

    /// The next notification, which must carry this subscription's id.
    async fn next(&mut self) -> Value {
        let (_, message) = self
            .sse
            .next_json(STEP)
            .await
            .unwrap_or_else(|e| panic!("listener {}: {e:#}", self.id));
        assert!(
            message.get("id").is_none(),
            "only notifications belong on a listen stream: {message}"
        );
        assert_eq!(
            message["params"]["_meta"][META_SUBSCRIPTION_ID], self.id,
            "an untagged or mis-tagged notification: {message}"
        );
        message
    }
}

/// Calls a tool and checks it completed without a tool error.
async fn call(wire: &Wire, id: i64, name: &str, arguments: Value) -> Value {
    let answer = wire
        .modern_call(&modern(
            id,
            "tools/call",
            json!({"name": name, "arguments": arguments}),
        ))
        .await;
    let result = result_of(&answer);
    assert_eq!(result["resultType"], "complete", "{answer}");
    assert_ne!(
        result.get("isError"),
        Some(&json!(true)),
        "{name}: {answer}"
    );
    answer
}

fn booking(email: &str, day: u32) -> Value {
    json!({
        "client_email": email,
        "starts_at": format!("2031-03-{day:02}T10:00:00Z"),
        "service": "Listen check",
    })
}

#[tokio::test]
async fn demo_listeners_get_exactly_what_they_opted_into() {
    let wire = Wire::start("demo");
    let email = wire.demo_email().await;

    // The demo's tools and prompts never change: those parts of the filter are not honoured.
    let mut updates = Listener::open(
        &wire,
        json!("updates-1"),
        json!({
            "resourceSubscriptions": ["clients://all"],
            "toolsListChanged": true,
            "promptsListChanged": true
        }),
    )
    .await;
    assert_eq!(
        updates.honored,
        json!({"resourceSubscriptions": ["clients://all"]}),
        "acknowledged filter"
    );
    let mut lists = Listener::open(&wire, json!(42), json!({"resourcesListChanged": true})).await;
    assert_eq!(lists.honored, json!({"resourcesListChanged": true}));

    // A booking updates clients://all (and clients://<email>, which nobody subscribed to).
    call(&wire, 10, "create_booking", booking(&email, 3)).await;
    let n = updates.next().await;
    assert_eq!(n["method"], "notifications/resources/updated", "{n}");
    assert_eq!(n["params"]["uri"], "clients://all", "{n}");

    // A new client changes the resource list too; only `lists` asked for that.
    call(
        &wire,
        11,
        "create_client",
        json!({"name": "Listen Check", "email": "listen.check@example.com"}),
    )
    .await;
    let n = lists.next().await;
    assert_eq!(n["method"], "notifications/resources/list_changed", "{n}");
    let n = updates.next().await;
    assert_eq!(n["method"], "notifications/resources/updated", "{n}");
    assert_eq!(n["params"]["uri"], "clients://all", "{n}");

    // Another booking: `updates` hears about it next — no list change or clients://<email>
    // slipped in between — and `lists` hears nothing of it (its next notice is the next list
    // change).
    call(&wire, 12, "create_booking", booking(&email, 4)).await;
    let n = updates.next().await;
    assert_eq!(n["method"], "notifications/resources/updated", "{n}");
    assert_eq!(n["params"]["uri"], "clients://all", "{n}");
    call(
        &wire,
        13,
        "create_client",
        json!({"name": "Listen Check Two", "email": "listen.check2@example.com"}),
    )
    .await;
    let n = lists.next().await;
    assert_eq!(n["method"], "notifications/resources/list_changed", "{n}");
}

#[tokio::test]
async fn a_prompts_only_filter_never_carries_tool_changes() {
    let wire = Wire::start("everything");
    let mut prompts =
        Listener::open(&wire, json!("prompts"), json!({"promptsListChanged": true})).await;
    assert_eq!(prompts.honored, json!({"promptsListChanged": true}));
    let mut tools = Listener::open(&wire, json!("tools"), json!({"toolsListChanged": true})).await;
    assert_eq!(tools.honored, json!({"toolsListChanged": true}));

    call(&wire, 1, "test_trigger_tool_change", json!({})).await;
    let n = tools.next().await;
    assert_eq!(n["method"], "notifications/tools/list_changed", "{n}");

    // Published after the tool change: had the prompts listener been sent the tool change,
    // it would read that first.
    call(&wire, 2, "test_trigger_prompt_change", json!({})).await;
    let n = prompts.next().await;
    assert_eq!(n["method"], "notifications/prompts/list_changed", "{n}");

    // And the other way round.
    call(&wire, 3, "test_trigger_tool_change", json!({})).await;
    let n = tools.next().await;
    assert_eq!(n["method"], "notifications/tools/list_changed", "{n}");

    // A resource subscription on the same node: only for the URI asked for.
    let mut watched =
        Listener::open(&wire, json!(3), json!({"resourceSubscriptions": [WATCHED]})).await;
    call(&wire, 4, "test_trigger_tool_change", json!({})).await;
    call(&wire, 5, "test_trigger_resource_update", json!({})).await;
    let n = watched.next().await;
    assert_eq!(n["method"], "notifications/resources/updated", "{n}");
    assert_eq!(n["params"]["uri"], WATCHED, "{n}");
}

#[tokio::test]
async fn a_change_made_on_another_node_reaches_the_listener() {
    let redis = RedisServer::start();
    let node = |backend: &str| {
        Node::builder(backend)
            .arg("--redis-url")
            .arg(redis.url())
            .start()
    };
    let listening = Wire::with_node(node("everything"));
    let other = Wire::with_node(node("everything"));

    let mut listener = Listener::open(
        &listening,
        json!(7),
        json!({"resourceSubscriptions": [WATCHED]}),
    )
    .await;
    call(&other, 1, "test_trigger_resource_update", json!({})).await;
    let n = listener.next().await;
    assert_eq!(n["method"], "notifications/resources/updated", "{n}");
    assert_eq!(n["params"]["uri"], WATCHED, "{n}");
}

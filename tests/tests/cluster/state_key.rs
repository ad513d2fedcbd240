//! `requestState` across nodes that were given no `stateless.state_key`: the first node to
//! start stores a random key in Redis (`sy:state_key`) and every node uses it, so the retry
//! of a multi round-trip request may land anywhere; a configured key still wins over it.

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{Map, Value, json};
use switchyard_tests::{Cluster, Node, Reply};

use crate::support::{BOTH, STEP, client};

const MODERN: &str = "2026-07-28";

/// `tools/call test_elicitation` (2026-07-28), with extra params (`inputResponses`,
/// `requestState`).
fn elicitation(id: i64, extra: Map<String, Value>) -> Value {
    let mut params = json!({
        "name": "test_elicitation",
        "arguments": {"message": "Who are you?"},
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}},
            "io.modelcontextprotocol/clientInfo": {"name": "state-key-test", "version": "0"},
        },
    });
    params.as_object_mut().unwrap().extend(extra);
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params})
}

/// POSTs a 2026-07-28 `body` to `url` and returns its JSON-RPC answer (JSON or the last
/// event of an SSE answer).
async fn call(url: &str, body: &Value) -> Value {
    let response = client()
        .post(url)
        .timeout(STEP)
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, BOTH)
        .header("mcp-protocol-version", MODERN)
        .header("mcp-method", "tools/call")
        .header("mcp-name", "test_elicitation")
        .body(body.to_string())
        .send()
        .await
        .expect("an answer");
    let status = response.status();
    let text = response.text().await.expect("a body");
    let json = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .next_back()
        .unwrap_or(&text);
    serde_json::from_str(json.trim()).unwrap_or_else(|e| panic!("{status} {text:?}: {e}"))
}

/// The first round on `url`: the input requests and the `requestState`.
async fn first_round(url: &str) -> (Vec<String>, String) {
    let answer = call(url, &elicitation(1, Map::new())).await;
    let result = &answer["result"];
    assert_eq!(result["resultType"], "input_required", "{answer}");
    let keys = result["inputRequests"]
        .as_object()
        .unwrap_or_else(|| panic!("no inputRequests: {answer}"))
        .keys()
        .cloned()
        .collect();
    let state = result["requestState"]
        .as_str()
        .unwrap_or_else(|| panic!("no requestState: {answer}"))
        .to_owned();
    (keys, state)
}

/// The retry on `url` with an accepted answer to every request.
async fn retry(url: &str, keys: &[String], state: &str) -> Value {
    let responses: Map<String, Value> = keys
        .iter()
        .map(|k| {
            let answer = json!({"action": "accept", "content": {"username": "ada", "email": "ada@example.com"}});
            (k.clone(), answer)
        })
        .collect();
    let mut extra = Map::new();
    extra.insert("inputResponses".into(), Value::Object(responses));
    extra.insert("requestState".into(), json!(state));
    call(url, &elicitation(2, extra)).await
}

#[tokio::test]
async fn nodes_without_a_configured_key_share_one_through_redis() {
    let cluster = Cluster::builder(3, "everything")
        .without_state_key()
        .start();
    // Minted on each node, retried on each other node, not through the balancer: every
    // pair must agree.
    for minter in 0..cluster.len() {
        let (keys, state) = first_round(&format!("{}/mcp", cluster.node_url(minter))).await;
        for other in (0..cluster.len()).filter(|&o| o != minter) {
            let done = retry(&format!("{}/mcp", cluster.node_url(other)), &keys, &state).await;
            assert_eq!(
                done["result"]["resultType"], "complete",
                "minted on node {minter}, refused on node {other}: {done}"
            );
            assert!(done.to_string().contains("ada@example.com"), "{done}");
        }
    }

    let stored = match cluster.redis().command(&["GET", "sy:state_key"]) {
        Ok(Reply::Bulk(Some(key))) => key,
        other => panic!("no sy:state_key in Redis where the nodes agreed on one: {other:?}"),
    };
    assert!(stored.len() >= 32, "a short shared key: {stored:?}");

    // A node given its own key uses it, not the shared one: it refuses the others' states.
    let own = Node::builder("everything")
        .arg("--redis-url")
        .arg(cluster.redis().url())
        .env("SWITCHYARD__STATELESS__STATE_KEY", "an explicit key wins")
        .start();
    let (keys, state) = first_round(&format!("{}/mcp", cluster.node_url(0))).await;
    let refused = retry(&own.mcp_url(), &keys, &state).await;
    assert!(
        refused.get("error").is_some(),
        "a node with an explicit key accepted a state sealed with the shared one: {refused}"
    );
}

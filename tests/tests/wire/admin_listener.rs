//! `admin.bind`: the push API on a listener of its own — answered there only, and that
//! listener answers nothing else; its token is still required there.

use reqwest::StatusCode;
use serde_json::json;
use switchyard_tests::{Node, free_port};

use crate::support::{Wire, initialize_body};

#[tokio::test]
async fn the_push_api_answers_on_its_own_listener_only() {
    let admin = format!("127.0.0.1:{}", free_port());
    let node = Node::builder("demo")
        .env("SWITCHYARD__ADMIN__TOKEN", "admin-token")
        .env("SWITCHYARD__ADMIN__BIND", &admin)
        .start();
    let wire = Wire::with_node(node);
    let broadcast = |base: &str, token: &str| {
        wire.http
            .post(format!("{base}/admin/v1/broadcast"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(
                json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}).to_string(),
            )
    };
    let main = wire.node.url();
    let admin = format!("http://{admin}");
    let on_main = broadcast(&main, "admin-token").send().await.unwrap();
    assert_eq!(
        on_main.status(),
        StatusCode::NOT_FOUND,
        "not on the MCP listener"
    );
    let wrong = broadcast(&admin, "nope").send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let ok = broadcast(&admin, "admin-token").send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::ACCEPTED);
    let mcp_on_admin = wire
        .http
        .post(format!("{admin}/mcp"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(initialize_body("2025-11-25").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(
        mcp_on_admin.status(),
        StatusCode::NOT_FOUND,
        "no MCP on the admin listener"
    );
    let mcp = wire
        .post(&initialize_body("2025-11-25"))
        .send()
        .await
        .unwrap();
    assert_eq!(mcp.status(), StatusCode::OK, "MCP on its own listener");
}

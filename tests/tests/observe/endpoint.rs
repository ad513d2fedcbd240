//! `/metrics` on one node: on the main listener by default, off with
//! `metrics.enabled = false`, only on its own listener with `metrics.bind`.

use reqwest::StatusCode;
use switchyard_tests::{Node, free_port};

use crate::support::{client, scrape};

#[tokio::test]
async fn metrics_are_openmetrics_text_on_the_main_listener() {
    let node = Node::start("demo");
    let http = client();
    // An operation, so that its histogram has a series.
    crate::support::initialize(&http, &node.mcp_url()).await;
    let response = http
        .get(format!("{}/metrics", node.url()))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap_or("")
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = response.text().await.expect("a body");
    assert!(text.ends_with("# EOF\n"), "{text}");
    for name in [
        "# TYPE mcp_server_operation_duration_seconds histogram",
        "# TYPE mcp_server_session_duration_seconds histogram",
        "switchyard_build_info{version=\"",
        "mcp_server_operation_duration_seconds_count{mcp_method_name=\"initialize\",mcp_protocol_version=\"2025-11-25\",error_type=\"\"} 1",
        "switchyard_sessions_open{era=\"streamable_http\"} 1",
        "switchyard_sessions_open{era=\"http_sse\"} 0",
        "switchyard_streams_open{kind=\"standalone\"} 0",
        "switchyard_draining 0",
    ] {
        assert!(text.contains(name), "{name:?} missing from\n{text}");
    }
}

#[tokio::test]
async fn metrics_can_be_turned_off() {
    let node = Node::builder("demo")
        .env("SWITCHYARD__METRICS__ENABLED", "false")
        .start();
    let (status, _) = scrape(&client(), &node.url()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn metrics_bind_serves_them_on_their_own_listener_only() {
    let port = free_port();
    let node = Node::builder("demo")
        .env("SWITCHYARD__METRICS__BIND", format!("127.0.0.1:{port}"))
        .start();
    let http = client();
    let (status, text) = scrape(&http, &format!("http://127.0.0.1:{port}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("switchyard_build_info"), "{text}");
    let (status, _) = scrape(&http, &node.url()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not on the public listener");
}

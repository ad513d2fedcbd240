use super::*;

#[test]
fn every_metric_is_encoded_with_its_semantic_convention_name() {
    let m = Metrics::new();
    m.operation(
        &OperationLabels {
            mcp_method_name: method_label("tools/call"),
            mcp_protocol_version: version_label("2025-11-25"),
            error_type: "",
        },
        Duration::from_millis(3),
    );
    m.session_opened("streamable_http");
    m.resumed(Some(4));
    m.resumed(None);
    m.rejected(404, code::SESSION_NOT_FOUND);
    m.redis(
        "read a session",
        Duration::from_micros(300),
        Some("unavailable"),
    );
    let text = m.encode();
    for line in [
        "mcp_server_operation_duration_seconds_count{mcp_method_name=\"tools/call\",mcp_protocol_version=\"2025-11-25\",error_type=\"\"} 1",
        "switchyard_sessions_open{era=\"streamable_http\"} 1",
        "switchyard_events_replayed_total 4",
        "switchyard_resumptions_total{outcome=\"gone\"} 1",
        "switchyard_rejections_total{status=\"404\",jsonrpc_code=\"-32001\"} 1",
        "switchyard_redis_errors_total{command=\"read a session\",kind=\"unavailable\"} 1",
        "switchyard_build_info{version=\"",
        "switchyard_draining 0",
    ] {
        assert!(text.contains(line), "{line:?} missing from\n{text}");
    }
}

#[test]
fn labels_stay_bounded() {
    assert_eq!(method_label("tools/call"), "tools/call");
    assert_eq!(method_label("x/made-up-by-a-client"), "_OTHER");
    assert_eq!(version_label("1999-01-01"), "_OTHER");
    assert_eq!(code_label(-1), "_OTHER");
    assert_eq!(
        error_type(&Ok(serde_json::json!({"isError": true}))),
        "tool_error"
    );
    assert_eq!(error_type(&Ok(serde_json::json!({}))), "");
}

//! `deploy/`: the alert rules pass `promtool check rules`, and every metric the rules and the
//! Grafana dashboard query is one a node exports (a renamed metric fails; checked at the end
//! of `fleet`'s workload, which touches every metric).

use std::collections::BTreeSet;

use serde_json::Value;
use switchyard_tests::{run, workspace_root};

/// The metric names a node exports, as PromQL sees them, from the `# TYPE` lines of its
/// OpenMetrics text (a histogram with no observation yet has no sample line).
fn exported(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        let (Some("#"), Some("TYPE"), Some(name), Some(kind)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let suffixes: &[&str] = match kind {
            "counter" => &["_total"],
            "histogram" => &["_bucket", "_count", "_sum"],
            "info" => &["_info"],
            _ => &[""],
        };
        for s in suffixes {
            names.insert(format!("{name}{s}"));
        }
    }
    names
}

/// The Switchyard metric names in a PromQL expression (`mcp_server_*`, `switchyard_*`; the
/// labels `mcp_method_name` and `mcp_protocol_version` are not metrics).
fn named_in(expr: &str) -> BTreeSet<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|t| t.starts_with("mcp_server_") || t.starts_with("switchyard_"))
        .map(str::to_owned)
        .collect()
}

fn exprs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("expr", Value::String(e)) => out.push(e.clone()),
                    _ => exprs(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| exprs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn alert_rules_pass_promtool() {
    let rules = workspace_root().join("deploy/prometheus/alerts.yml");
    let mut cmd = tokio::process::Command::new("promtool");
    cmd.arg("check").arg("rules").arg(&rules);
    let done = run(cmd, std::time::Duration::from_secs(60))
        .await
        .expect("promtool (Debian package prometheus)");
    assert!(done.success(), "promtool check rules failed:\n{done}");
    assert!(done.stdout.contains("SUCCESS: 5 rules found"), "{done}");
}

/// Checks that every metric the alert rules and the dashboard query is in `scrapes` (the
/// `/metrics` texts of nodes that have served a workload touching every metric: a series
/// appears with its first observation).
pub(crate) fn the_rules_and_the_dashboard_query_only(scrapes: &[String]) {
    let exported: BTreeSet<String> = scrapes.iter().flat_map(|t| exported(t)).collect();
    assert!(
        exported.contains("mcp_server_operation_duration_seconds_bucket"),
        "{exported:?}"
    );
    let root = workspace_root().join("deploy");
    let rules = std::fs::read_to_string(root.join("prometheus/alerts.yml")).expect("alerts.yml");
    let rule_names: BTreeSet<String> = rules
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(named_in)
        .collect();
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("grafana/switchyard.json")).expect("the dashboard"),
    )
    .expect("the dashboard is JSON");
    let mut queries = Vec::new();
    exprs(&dashboard, &mut queries);
    let dashboard_names: BTreeSet<String> = queries.iter().flat_map(|q| named_in(q)).collect();
    assert!(rule_names.len() >= 5, "{rule_names:?}");
    assert!(dashboard_names.len() >= 10, "{dashboard_names:?}");
    let unknown: Vec<&String> = rule_names
        .iter()
        .chain(&dashboard_names)
        .filter(|n| !exported.contains(*n))
        .collect();
    assert!(
        unknown.is_empty(),
        "queried but not exported by a node: {unknown:?}\nexported: {exported:?}"
    );
}

//! The Helm chart `helm/switchyard`, with Helm's own engine (`helm-python-sdk`, no binary):
//! lint `--strict`, a render per case of a values matrix, every manifest validated against
//! two Kubernetes minor versions' schemas, a table of bad values the schema must reject,
//! every value documented, the plain manifests in `deploy/kubernetes` equal to a fresh
//! render (`tests/chart/chart_test.py` does these) — and every rendered `switchyard.toml`
//! accepted by `switchyard config check`, with the drain settings the chart relies on.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use switchyard_tests::{run, switchyard_bin, workspace_root};
use tokio::process::Command;

/// `tests/chart/.venv`'s Python, installed by `scripts/test` from `requirements.txt`.
fn python() -> PathBuf {
    let python = workspace_root().join("tests/chart/.venv/bin/python");
    assert!(
        python.is_file(),
        "the chart test's venv is missing at {}: run scripts/test, or `python3 -m venv \
         tests/chart/.venv && tests/chart/.venv/bin/pip install -r tests/chart/requirements.txt`",
        python.display()
    );
    python
}

#[tokio::test]
async fn the_chart_lints_renders_and_validates_over_its_values_matrix() {
    let root = workspace_root();
    let out = tempfile::tempdir().expect("a temporary directory");
    let mut cmd = Command::new(python());
    cmd.arg(root.join("tests/chart/chart_test.py"))
        .arg(root.join("helm/switchyard"))
        .arg(out.path())
        .arg(root.join("deploy/kubernetes"));
    let done = run(cmd, Duration::from_secs(300))
        .await
        .expect("running chart_test.py");
    assert!(done.success(), "{done}");
    let summary: Value = done
        .stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON summary: {done}"));
    println!("chart test: {summary}");
    assert_eq!(summary["cases"], 9, "{summary}");
    assert_eq!(summary["lint"], 9, "{summary}");
    assert!(summary["validations"].as_u64() > Some(100), "{summary}");
    assert!(
        summary["bad_values_rejected"].as_u64() >= Some(20),
        "{summary}"
    );
    assert!(summary["plain_manifests"].as_u64() >= Some(5), "{summary}");

    let mut checked = 0;
    for entry in std::fs::read_dir(out.path()).expect("the rendered configs") {
        let path = entry.expect("an entry").path();
        let mut cmd = Command::new(switchyard_bin());
        cmd.args(["config", "check", "--config"]).arg(&path);
        // The environment the Deployment sets comes on top of the file.
        cmd.env("SWITCHYARD__STATELESS__STATE_KEY", "k".repeat(64))
            .env("SWITCHYARD__REDIS__URL", "redis://127.0.0.1:6379")
            .env_remove("SWITCHYARD__HTTP__WORKERS");
        let done = run(cmd, Duration::from_secs(30))
            .await
            .expect("config check");
        assert!(done.success(), "{}: {done}", path.display());
        let cfg: Value = serde_json::from_str(&done.stdout).expect("config check prints JSON");
        assert_eq!(cfg["bind"], "0.0.0.0:8080", "{}: {cfg}", path.display());
        assert!(
            cfg["shutdown"]["drain_delay_secs"].as_u64() > Some(0),
            "{}: the chart drains: {cfg}",
            path.display()
        );
        checked += 1;
    }
    assert_eq!(checked, 9, "one switchyard.toml per case");
}

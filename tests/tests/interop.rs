//! The official SDK clients (Python `mcp`, TypeScript `@modelcontextprotocol/sdk` v1) against a
//! real `demo` node: one test per driver. The drivers live in `tests/interop/{python,ts}`;
//! `scripts/test` installs their dependencies.

use std::path::PathBuf;
use std::time::Duration;

use switchyard_tests::{CutProxy, Finished, Node, interop_dir, run};
use tokio::process::Command;

/// A driver's whole run, including its SDK's reconnection back-off.
const DRIVER_DEADLINE: Duration = Duration::from_secs(120);

/// The steps both Streamable HTTP drivers report.
const STREAMABLE_STEPS: &[&str] = &[
    "initialize",
    "tools/list",
    "resources/read clients://all",
    "tools/call get_client",
    "resources/read template",
    "prompts/get client_summary",
    "resources/subscribe + notifications/resources/updated",
    "progress",
    "DELETE",
    "deleted session answers 404",
    "resumption",
];

/// The steps both HTTP+SSE (2024-11-05) drivers report.
const SSE_STEPS: &[&str] = &[
    "initialize",
    "tools/list",
    "resources/read clients://all",
    "tools/call get_client",
    "resources/read template",
    "prompts/get client_summary",
    "resources/subscribe + notifications/resources/updated",
    "progress",
    "POST /messages answers 2xx",
    "closed session answers 404",
];

fn python() -> PathBuf {
    let py = interop_dir("python").join(".venv/bin/python");
    assert!(
        py.is_file(),
        "{} is missing: run scripts/test, or `python3 -m venv tests/interop/python/.venv && \
         tests/interop/python/.venv/bin/pip install -r tests/interop/python/requirements.txt`",
        py.display()
    );
    py
}

fn python_driver(script: &str) -> Command {
    let mut cmd = Command::new(python());
    cmd.current_dir(interop_dir("python"))
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .arg(script);
    cmd
}

fn ts_driver(script: &str) -> Command {
    let dir = interop_dir("ts");
    assert!(
        dir.join("node_modules/@modelcontextprotocol/sdk/package.json")
            .is_file(),
        "the TypeScript SDK is not installed: run scripts/test, or `npm ci` in {}",
        dir.display()
    );
    let mut cmd = Command::new("node");
    cmd.current_dir(&dir).arg(script);
    cmd
}

/// A node, and a proxy in front of it that cuts the first stream carrying progress right
/// after its first progress notification.
async fn node_and_cut_proxy() -> (Node, CutProxy) {
    let node = Node::start("demo");
    let proxy = CutProxy::start(node.addr(), "notifications/progress", 1)
        .await
        .expect("starting the cut proxy");
    (node, proxy)
}

fn assert_cut_once(proxy: &CutProxy, out: &Finished) {
    assert_eq!(
        proxy.cuts(),
        1,
        "the proxy should have cut exactly one stream mid-way (did the slow tool stream \
         progress over SSE?):\n{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_streamable_http() {
    let (node, proxy) = node_and_cut_proxy().await;
    let mut cmd = python_driver("driver_streamable_http.py");
    cmd.args(["--url", &node.mcp_url()])
        .args(["--cut-url", &format!("{}/mcp", proxy.url())]);
    let out = run(cmd, DRIVER_DEADLINE).await.expect("running the driver");
    println!("{out}");
    out.assert_steps_passed(STREAMABLE_STEPS);
    assert_cut_once(&proxy, &out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_sse() {
    let node = Node::start("demo");
    let mut cmd = python_driver("driver_sse.py");
    cmd.args(["--url", &node.sse_url()]);
    let out = run(cmd, DRIVER_DEADLINE).await.expect("running the driver");
    println!("{out}");
    out.assert_steps_passed(SSE_STEPS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_sdk_streamable_http() {
    let (node, proxy) = node_and_cut_proxy().await;
    let mut cmd = ts_driver("streamable_http.mjs");
    cmd.args(["--url", &node.mcp_url()])
        .args(["--cut-url", &format!("{}/mcp", proxy.url())]);
    let out = run(cmd, DRIVER_DEADLINE).await.expect("running the driver");
    println!("{out}");
    out.assert_steps_passed(STREAMABLE_STEPS);
    assert_cut_once(&proxy, &out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_sdk_sse() {
    let node = Node::start("demo");
    let mut cmd = ts_driver("sse.mjs");
    cmd.args(["--url", &node.sse_url()]);
    let out = run(cmd, DRIVER_DEADLINE).await.expect("running the driver");
    println!("{out}");
    out.assert_steps_passed(SSE_STEPS);
}

/// The steps the modern (2026-07-28) drivers of both SDKs report.
const MODERN_STEPS: &[&str] = &[
    "server/discover",
    "tools/list",
    "resources/read clients://all",
    "tools/call get_client",
    "resources/read template",
    "prompts/get client_summary",
    "subscriptions/listen + notifications/resources/updated",
    "elicitation as a multi round-trip request",
    "progress",
    "stateless wire",
];

/// The Python driver's extra steps: `log_level` is a per-request opt-in.
const PYTHON_LOG_STEPS: &[&str] = &[
    "no log messages without a log level",
    "log messages with a log level",
];

/// The TypeScript SDK v2 client package (`@modelcontextprotocol/client`), which speaks
/// 2026-07-28; v1 (`@modelcontextprotocol/sdk`) does not.
fn ts_v2_driver(script: &str) -> Command {
    let dir = interop_dir("ts");
    assert!(
        dir.join("node_modules/@modelcontextprotocol/client/package.json")
            .is_file(),
        "the TypeScript SDK v2 client is not installed: run scripts/test, or `npm ci` in {}",
        dir.display()
    );
    let mut cmd = Command::new("node");
    cmd.current_dir(&dir).arg(script);
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_modern_stateless() {
    let node = Node::start("demo");
    let mut cmd = python_driver("driver_modern.py");
    cmd.args(["--url", &node.mcp_url()]);
    let out = run(cmd, DRIVER_DEADLINE).await.expect("running the driver");
    println!("{out}");
    out.assert_steps_passed(MODERN_STEPS);
    out.assert_steps_passed(PYTHON_LOG_STEPS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_sdk_v2_modern_stateless() {
    let node = Node::start("demo");
    let mut cmd = ts_v2_driver("modern.mjs");
    cmd.args(["--url", &node.mcp_url()]);
    let out = run(cmd, DRIVER_DEADLINE).await.expect("running the driver");
    println!("{out}");
    out.assert_steps_passed(MODERN_STEPS);
}

/// Official clients of both eras on one node at the same time: the TypeScript v1 client in a
/// 2025 session (with its resumption through the cutting proxy) and the Python client in
/// 2026-07-28 mode; each must see its own era throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_and_modern_sdk_clients_share_a_node() {
    let (node, proxy) = node_and_cut_proxy().await;
    let mut legacy = ts_driver("streamable_http.mjs");
    legacy
        .args(["--url", &node.mcp_url()])
        .args(["--cut-url", &format!("{}/mcp", proxy.url())]);
    let mut modern = python_driver("driver_modern.py");
    modern.args(["--url", &node.mcp_url()]);
    let (legacy, modern) = tokio::join!(run(legacy, DRIVER_DEADLINE), run(modern, DRIVER_DEADLINE));
    let (legacy, modern) = (
        legacy.expect("running the legacy driver"),
        modern.expect("running the modern driver"),
    );
    println!("{legacy}\n{modern}");
    legacy.assert_steps_passed(STREAMABLE_STEPS);
    assert_cut_once(&proxy, &legacy);
    modern.assert_steps_passed(MODERN_STEPS);
}

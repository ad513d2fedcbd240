//! The official SDK clients (Python `mcp`, TypeScript `@modelcontextprotocol/sdk` v1 and the
//! v2 client) against a real `demo` node: one test per driver. The drivers live in
//! `tests/interop/{python,ts}` (run as commands by [`switchyard_tests::drivers`]);
//! `scripts/test` installs their dependencies.

use switchyard_tests::drivers::{
    DRIVER_DEADLINE, EARLY_STEPS, MODERN_STEPS, SSE_STEPS, STREAMABLE_STEPS, early_python_driver,
    early_ts_driver, python_driver, ts_driver, ts_v2_driver,
};
use switchyard_tests::{CutProxy, Finished, Node, run};
use tokio::process::Command;

/// The Python driver's extra steps: `log_level` is a per-request opt-in.
const PYTHON_LOG_STEPS: &[&str] = &[
    "no log messages without a log level",
    "log messages with a log level",
];

/// A node, and a proxy in front of it that cuts the first stream carrying progress right
/// after its first progress notification.
async fn node_and_cut_proxy() -> (Node, CutProxy) {
    let node = Node::start("demo");
    let proxy = CutProxy::start(node.addr(), "notifications/progress", 1)
        .await
        .expect("starting the cut proxy");
    (node, proxy)
}

/// `cmd` with the Streamable HTTP URL of `node` and the cutting proxy's.
fn with_cut_urls(cmd: &mut Command, node: &Node, proxy: &CutProxy) {
    cmd.args(["--url", &node.mcp_url()])
        .args(["--cut-url", &format!("{}/mcp", proxy.url())]);
}

fn assert_cut_once(proxy: &CutProxy, out: &Finished) {
    assert_eq!(
        proxy.cuts(),
        1,
        "the proxy should have cut exactly one stream mid-way (did the slow tool stream \
         progress over SSE?):\n{out}"
    );
}

/// Runs a driver on its own and prints what it did.
async fn run_driver(cmd: Command) -> Finished {
    let out = run(cmd, DRIVER_DEADLINE).await.expect("running the driver");
    println!("{out}");
    out
}

/// A Streamable HTTP driver, resuming through the cutting proxy.
async fn streamable(mut cmd: Command) {
    let (node, proxy) = node_and_cut_proxy().await;
    with_cut_urls(&mut cmd, &node, &proxy);
    let out = run_driver(cmd).await;
    out.assert_steps_passed(STREAMABLE_STEPS);
    assert_cut_once(&proxy, &out);
}

/// An HTTP+SSE (2024-11-05) driver.
async fn legacy_sse(mut cmd: Command) {
    let node = Node::start("demo");
    cmd.args(["--url", &node.sse_url()]);
    run_driver(cmd).await.assert_steps_passed(SSE_STEPS);
}

/// A modern (2026-07-28) driver: the steps of both SDKs, then `extra_steps`.
async fn modern(mut cmd: Command, extra_steps: &[&str]) {
    let node = Node::start("demo");
    cmd.args(["--url", &node.mcp_url()]);
    run_driver(cmd)
        .await
        .assert_steps_passed(&[MODERN_STEPS, extra_steps].concat());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_streamable_http() {
    streamable(python_driver("driver_streamable_http.py")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_sse() {
    legacy_sse(python_driver("driver_sse.py")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_sdk_streamable_http() {
    streamable(ts_driver("streamable_http.mjs")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_sdk_sse() {
    legacy_sse(ts_driver("sse.mjs")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_modern_stateless() {
    modern(python_driver("driver_modern.py"), PYTHON_LOG_STEPS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_sdk_v2_modern_stateless() {
    modern(ts_v2_driver("modern.mjs"), &[]).await;
}

/// Official clients of both eras on one node at the same time: the TypeScript v1 client in a
/// 2025 session (with its resumption through the cutting proxy) and the Python client in
/// 2026-07-28 mode; each must see its own era throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_and_modern_sdk_clients_share_a_node() {
    let (node, proxy) = node_and_cut_proxy().await;
    let mut legacy = ts_driver("streamable_http.mjs");
    with_cut_urls(&mut legacy, &node, &proxy);
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

/// An early Streamable HTTP client (asks for 2024-11-05 on `/mcp`, accepts nothing else).
async fn early(mut cmd: Command) {
    let node = Node::start("demo");
    cmd.args(["--url", &node.mcp_url()]);
    run_driver(cmd).await.assert_steps_passed(EARLY_STEPS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_python_sdk_1_8_on_mcp() {
    early(early_python_driver()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_ts_sdk_1_10_on_mcp() {
    early(early_ts_driver()).await;
}

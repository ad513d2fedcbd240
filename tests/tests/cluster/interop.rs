//! The official SDK interop drivers, unchanged, against three `demo` nodes behind nginx
//! (one shared SQLite file, as one application behind the gateway would have).

use switchyard_tests::drivers::{
    DRIVER_DEADLINE, EARLY_STEPS, SSE_STEPS, STREAMABLE_STEPS, early_python_driver,
    early_ts_driver, python_driver, ts_driver,
};
use switchyard_tests::{Cluster, CutProxy, Finished, run};
use tokio::process::Command;

use crate::support::spread_over_every_node;

/// The cluster, and a proxy in front of nginx that cuts the first stream carrying progress
/// right after its first progress notification (the SDK resumes through the balancer).
async fn cluster_and_cut_proxy() -> (Cluster, CutProxy) {
    let cluster = Cluster::start(3, "demo");
    let proxy = CutProxy::start(cluster.nginx().addr(), "notifications/progress", 1)
        .await
        .expect("starting the cut proxy");
    (cluster, proxy)
}

async fn streamable(mut cmd: Command) {
    let (cluster, proxy) = cluster_and_cut_proxy().await;
    cmd.args(["--url", &cluster.mcp_url()])
        .args(["--cut-url", &format!("{}/mcp", proxy.url())]);
    let out = run(cmd, DRIVER_DEADLINE).await.expect("running the driver");
    println!("{out}");
    report_on_failure(&cluster, &out);
    out.assert_steps_passed(STREAMABLE_STEPS);
    spread_over_every_node(&cluster);
    assert_eq!(
        proxy.cuts(),
        1,
        "the proxy should have cut exactly one stream mid-way:\n{out}"
    );
}

async fn legacy_sse(mut cmd: Command) {
    let cluster = Cluster::start(3, "demo");
    cmd.args(["--url", &cluster.sse_url()]);
    let out = run(cmd, DRIVER_DEADLINE).await.expect("running the driver");
    println!("{out}");
    report_on_failure(&cluster, &out);
    out.assert_steps_passed(SSE_STEPS);
    spread_over_every_node(&cluster);
}

/// An early Streamable HTTP client (2024-11-05 on `/mcp`) through the balancer.
async fn early(mut cmd: Command) {
    let cluster = Cluster::start(3, "demo");
    cmd.args(["--url", &cluster.mcp_url()]);
    let out = run(cmd, DRIVER_DEADLINE).await.expect("running the driver");
    println!("{out}");
    report_on_failure(&cluster, &out);
    out.assert_steps_passed(EARLY_STEPS);
    spread_over_every_node(&cluster);
}

fn report_on_failure(cluster: &Cluster, out: &Finished) {
    if !out.success() {
        eprintln!("nginx error.log:\n{}", cluster.nginx().error_log());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_streamable_http_through_the_balancer() {
    streamable(python_driver("driver_streamable_http.py")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_sse_through_the_balancer() {
    legacy_sse(python_driver("driver_sse.py")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_sdk_streamable_http_through_the_balancer() {
    streamable(ts_driver("streamable_http.mjs")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_sdk_sse_through_the_balancer() {
    legacy_sse(ts_driver("sse.mjs")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_python_sdk_1_8_through_the_balancer() {
    early(early_python_driver()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_ts_sdk_1_10_through_the_balancer() {
    early(early_ts_driver()).await;
}

//! Debian's `prometheus` scraping given targets every second, with its own configuration
//! and storage in a temporary directory; stopped on drop. PromQL through its HTTP API.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::Value;
use tempfile::TempDir;

use crate::signal;

/// How long Prometheus may take to be ready.
const STARTUP: Duration = Duration::from_secs(60);

/// A running Prometheus; dropping it stops it.
#[derive(Debug)]
pub struct Prometheus {
    child: Child,
    port: u16,
    _dir: TempDir,
}

/// `prometheus` from `PATH`, else Debian's `/usr/bin/prometheus`.
fn prometheus_bin() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("prometheus"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("/usr/bin/prometheus"))
}

impl Prometheus {
    /// Starts Prometheus on a free loopback port, scraping `/metrics` of every target once
    /// a second (job `switchyard`), and waits until it is ready.
    pub async fn start(targets: &[SocketAddr]) -> anyhow::Result<Prometheus> {
        let dir = tempfile::tempdir().context("a temporary directory for Prometheus")?;
        let list: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
        let conf = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: switchyard\n    metrics_path: /metrics\n    \
             static_configs:\n      - targets: [{}]\n",
            list.join(", ")
        );
        let conf_path = dir.path().join("prometheus.yml");
        std::fs::write(&conf_path, conf).context("writing prometheus.yml")?;
        let port = signal::free_port();
        let bin = prometheus_bin();
        let child = Command::new(&bin)
            .arg(format!("--config.file={}", conf_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {} (Debian package prometheus)", bin.display()))?;
        let mut prom = Prometheus {
            child,
            port,
            _dir: dir,
        };
        let http = reqwest::Client::new();
        let end = Instant::now() + STARTUP;
        loop {
            let ready = http
                .get(format!("{}/-/ready", prom.url()))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return Ok(prom);
            }
            if let Ok(Some(status)) = prom.child.try_wait() {
                bail!("prometheus exited with {status} before it was ready");
            }
            if Instant::now() >= end {
                bail!("prometheus was not ready within {STARTUP:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The samples of an instant PromQL query: each series' labels and value.
    pub async fn query(&self, promql: &str) -> anyhow::Result<Vec<(Value, f64)>> {
        let body: Value = reqwest::Client::new()
            .get(format!("{}/api/v1/query", self.url()))
            .query(&[("query", promql)])
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .context("querying Prometheus")?
            .json()
            .await
            .context("a JSON answer from Prometheus")?;
        if body["status"] != "success" {
            bail!("query {promql:?} failed: {body}");
        }
        let samples = body["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|s| {
                let value = s["value"][1]
                    .as_str()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(f64::NAN);
                (s["metric"].clone(), value)
            })
            .collect();
        Ok(samples)
    }

    /// The value of a query that yields one sample (`None`: no sample yet).
    pub async fn scalar(&self, promql: &str) -> anyhow::Result<Option<f64>> {
        let samples = self.query(promql).await?;
        match samples.as_slice() {
            [] => Ok(None),
            [(_, v)] => Ok(Some(*v)),
            more => bail!("query {promql:?} gave {} samples: {more:?}", more.len()),
        }
    }

    /// Waits until `promql` yields `expected` (Prometheus scrapes once a second); fails with
    /// the last value seen after `deadline`.
    pub async fn wait_for(
        &self,
        promql: &str,
        expected: f64,
        deadline: Duration,
    ) -> anyhow::Result<()> {
        let end = Instant::now() + deadline;
        loop {
            let got = self.scalar(promql).await?;
            if got == Some(expected) {
                return Ok(());
            }
            if Instant::now() >= end {
                bail!("{promql} = {got:?} after {deadline:?}, expected {expected}");
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        signal::terminate(&mut self.child, Duration::from_secs(10));
    }
}

//! [`Fixture`]: an upstream server fixture as a child process on a free loopback port, killed
//! on drop: the Rails-style plain JSON-RPC endpoint (`tests/fixtures/plain_jsonrpc.py`) or the
//! TypeScript SDK v1 server with sessions (`tests/interop/ts/upstream_server.mjs`), or the
//! Python SDK server (`tests/interop/python/upstream_server.py`).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context as _, bail};

use crate::paths::{interop_dir, node_bin_dir, workspace_root};

/// How long the fixture may take to print its `listening on` line.
const STARTUP_DEADLINE: Duration = Duration::from_secs(20);

/// A running fixture; dropping it kills the process.
#[derive(Debug)]
pub struct Fixture {
    child: Child,
    addr: SocketAddr,
}

impl Fixture {
    /// The plain JSON-RPC fixture with `args` (`--name`, `--tool`, `--modern-only`,
    /// `--port`).
    pub fn plain_jsonrpc(args: &[&str]) -> Fixture {
        let script = workspace_root().join("tests/fixtures/plain_jsonrpc.py");
        let mut cmd = Command::new("python3");
        cmd.arg(&script).args(args);
        Self::try_start(cmd).unwrap_or_else(|e| panic!("starting the JSON-RPC fixture: {e:#}"))
    }

    /// The TypeScript SDK v1 server with sessions, run by the tests' Node 22.
    pub fn ts_sdk() -> Fixture {
        let dir = interop_dir("ts");
        let mut cmd = Command::new(node_bin_dir().join("node"));
        cmd.arg(dir.join("upstream_server.mjs")).current_dir(&dir);
        Self::try_start(cmd).unwrap_or_else(|e| panic!("starting the TS SDK fixture: {e:#}"))
    }

    /// The Python SDK (`mcp`) server with sessions, run by the tests' venv.
    pub fn python_sdk() -> Fixture {
        let dir = interop_dir("python");
        let mut cmd = Command::new(dir.join(".venv/bin/python"));
        cmd.arg(dir.join("upstream_server.py")).current_dir(&dir);
        Self::try_start(cmd).unwrap_or_else(|e| panic!("starting the Python SDK fixture: {e:#}"))
    }

    fn try_start(mut cmd: Command) -> anyhow::Result<Fixture> {
        let mut child = cmd
            // Its stdin is its lifeline: it exits when the pipe closes.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("spawning {cmd:?}"))?;
        let stdout = child.stdout.take().context("stdout was not piped")?;
        let mut fixture = Fixture {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let line = rx
            .recv_timeout(STARTUP_DEADLINE)
            .context("the fixture printed no `listening on` line")?;
        let Some(addr) = line.strip_prefix("listening on http://") else {
            bail!("unexpected first line {line:?}");
        };
        fixture.addr = addr.trim().parse().context("the fixture's address")?;
        Ok(fixture)
    }

    /// Its endpoint, `http://127.0.0.1:PORT/mcp`.
    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

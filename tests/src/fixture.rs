//! [`PlainJsonRpc`]: the Rails-style upstream fixture (`tests/fixtures/plain_jsonrpc.py`), a
//! child process on a free loopback port, killed on drop.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context as _, bail};

use crate::paths::workspace_root;

/// How long the fixture may take to print its `listening on` line.
const STARTUP_DEADLINE: Duration = Duration::from_secs(20);

/// A running plain JSON-RPC fixture; dropping it kills the process.
#[derive(Debug)]
pub struct PlainJsonRpc {
    child: Child,
    addr: SocketAddr,
}

impl PlainJsonRpc {
    /// Starts the fixture with `args` (`--name`, `--tool`, `--modern-only`, `--port`).
    pub fn start(args: &[&str]) -> PlainJsonRpc {
        Self::try_start(args).unwrap_or_else(|e| panic!("starting the JSON-RPC fixture: {e:#}"))
    }

    fn try_start(args: &[&str]) -> anyhow::Result<PlainJsonRpc> {
        let script = workspace_root().join("tests/fixtures/plain_jsonrpc.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .args(args)
            // Its stdin is its lifeline: it exits when the pipe closes.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("spawning python3 {}", script.display()))?;
        let stdout = child.stdout.take().context("stdout was not piped")?;
        let mut fixture = PlainJsonRpc {
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

impl Drop for PlainJsonRpc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

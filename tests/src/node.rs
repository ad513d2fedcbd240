//! A `switchyard serve` child process on a free loopback port.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context as _, bail};

use crate::paths::switchyard_bin;

/// How long a node may take to print its `listening on` line.
const STARTUP_DEADLINE: Duration = Duration::from_secs(30);

/// The line prefix the node prints on stdout once it is bound.
const LISTENING: &str = "listening on ";

/// Options for starting a node; [`Node::start`] covers the common case.
#[derive(Debug, Clone)]
pub struct NodeBuilder {
    backend: String,
    demo_db: Option<String>,
    extra: Vec<String>,
    env: Vec<(String, String)>,
    bin: Option<PathBuf>,
    bind: String,
    stderr: Option<PathBuf>,
}

impl NodeBuilder {
    /// A node serving `backend` (`demo` or `everything`). A `demo` node gets a fresh
    /// in-memory database unless [`NodeBuilder::demo_db`] says otherwise.
    pub fn new(backend: &str) -> Self {
        Self {
            backend: backend.to_owned(),
            demo_db: (backend == "demo").then(|| ":memory:".to_owned()),
            extra: Vec::new(),
            env: Vec::new(),
            bin: None,
            bind: "127.0.0.1:0".to_owned(),
            stderr: None,
        }
    }

    /// Uses the demo database at `path` (`:memory:` for a private one).
    pub fn demo_db(mut self, path: impl Into<String>) -> Self {
        self.demo_db = Some(path.into());
        self
    }

    /// Appends arguments after the ones the builder writes.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.extra.push(arg.into());
        self
    }

    /// Sets an environment variable for the node, e.g. `SWITCHYARD__HTTP__KEEP_ALIVE_SECS`.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Binds `addr` instead of a free port (`127.0.0.1:0`): to start a node again on the
    /// port a stopped one had.
    pub fn bind(mut self, addr: impl Into<String>) -> Self {
        self.bind = addr.into();
        self
    }

    /// Writes the node's stderr (its logs) to `path` instead of the test's own stderr.
    pub fn stderr_to(mut self, path: impl Into<PathBuf>) -> Self {
        self.stderr = Some(path.into());
        self
    }

    /// Runs another binary than [`switchyard_bin`].
    pub fn bin(mut self, bin: impl Into<PathBuf>) -> Self {
        self.bin = Some(bin.into());
        self
    }

    /// Starts the node and waits for its `listening on` line.
    pub fn try_start(self) -> anyhow::Result<Node> {
        let bin = self.bin.unwrap_or_else(switchyard_bin);
        let mut cmd = Command::new(&bin);
        cmd.args(["serve", "--bind", &self.bind, "--backend", &self.backend]);
        if let Some(db) = &self.demo_db {
            cmd.args(["--demo-db", db]);
        }
        cmd.args(&self.extra)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        match &self.stderr {
            Some(path) => {
                let file = std::fs::File::create(path)
                    .with_context(|| format!("creating {}", path.display()))?;
                cmd.stderr(file);
            }
            // Logs go to the test's own stderr, which the test runner shows on failure.
            None => {
                cmd.stderr(Stdio::inherit());
            }
        }
        let mut child = cmd
            .spawn()
            .with_context(|| format!("spawning {}", bin.display()))?;
        let stdout = child.stdout.take().context("child stdout was not piped")?;
        // Own the child from here on, so every early return below kills it.
        let mut node = Node {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut announced = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if !announced && line.starts_with(LISTENING) {
                    announced = true;
                    let _ = tx.send(line);
                } else {
                    // Anything else on stdout is unexpected; keep it visible and keep the
                    // pipe drained so the node never blocks on a full pipe.
                    eprintln!("[switchyard stdout] {line}");
                }
            }
        });
        let line = match rx.recv_timeout(STARTUP_DEADLINE) {
            Ok(line) => line,
            Err(_) => {
                let status = node.child.try_wait().ok().flatten();
                match status {
                    Some(status) => bail!(
                        "{} serve --backend {} exited with {status} before printing \
                         `{LISTENING}http://…` (its stderr is above)",
                        bin.display(),
                        self.backend
                    ),
                    None => bail!(
                        "{} serve --backend {} printed no `{LISTENING}http://…` line within {:?}",
                        bin.display(),
                        self.backend,
                        STARTUP_DEADLINE
                    ),
                }
            }
        };
        let url = line[LISTENING.len()..].trim();
        let authority = url
            .strip_prefix("http://")
            .with_context(|| format!("unexpected listening line {line:?}"))?;
        node.addr = authority
            .trim_end_matches('/')
            .parse()
            .with_context(|| format!("unexpected address in listening line {line:?}"))?;
        Ok(node)
    }

    /// Starts the node, panicking with the reason when it cannot.
    pub fn start(self) -> Node {
        let backend = self.backend.clone();
        self.try_start()
            .unwrap_or_else(|e| panic!("could not start a `{backend}` node: {e:#}"))
    }
}

/// A running node; dropping it kills the process.
#[derive(Debug)]
pub struct Node {
    pub(crate) child: Child,
    addr: SocketAddr,
}

impl Node {
    /// Starts a node serving `backend`, panicking with the reason when it cannot.
    pub fn start(backend: &str) -> Node {
        NodeBuilder::new(backend).start()
    }

    /// Options beyond the backend.
    pub fn builder(backend: &str) -> NodeBuilder {
        NodeBuilder::new(backend)
    }

    /// The node's base URL, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The Streamable HTTP endpoint, `…/mcp`.
    pub fn mcp_url(&self) -> String {
        format!("{}/mcp", self.url())
    }

    /// The 2024-11-05 SSE endpoint, `…/sse`.
    pub fn sse_url(&self) -> String {
        format!("{}/sse", self.url())
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

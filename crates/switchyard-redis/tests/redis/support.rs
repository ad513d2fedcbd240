//! Real `redis-server` processes for the tests: one server, or a three-master cluster, on
//! free loopback ports, without persistence, in temporary directories, killed on drop.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use switchyard_redis::{RedisOptions, RedisState};
use tempfile::TempDir;

/// The installed server (the one on 6379 is never used).
const REDIS_SERVER: &str = "/usr/bin/redis-server";
const REDIS_CLI: &str = "/usr/bin/redis-cli";

/// How long a server may take to answer its first PING, or a cluster to become ready.
const STARTUP: Duration = Duration::from_secs(20);

/// A free loopback port (for cluster nodes, with `port + 10000`, the cluster bus, free too).
fn free_port(with_bus: bool) -> u16 {
    for _ in 0..200 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("bind an ephemeral port")
            .port();
        if !with_bus || (port < 55_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok()) {
            return port;
        }
    }
    panic!("no free port found");
}

/// Whether a server answers PING on `port`.
fn answers_ping(port: u16) -> bool {
    let ping = || -> std::io::Result<bool> {
        let mut s =
            TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200))?;
        s.set_read_timeout(Some(Duration::from_secs(1)))?;
        s.write_all(b"PING\r\n")?;
        let mut buf = [0u8; 7];
        s.read_exact(&mut buf)?;
        Ok(&buf == b"+PONG\r\n")
    };
    ping().unwrap_or(false)
}

/// Waits until `check` holds, polling, or panics with `what` after `deadline`.
pub(crate) fn wait_until(what: &str, deadline: Duration, mut check: impl FnMut() -> bool) {
    let end = Instant::now() + deadline;
    while !check() {
        assert!(Instant::now() < end, "{what}: not within {deadline:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn spawn_server(port: u16, dir: &Path, extra: &[&str]) -> Child {
    let mut cmd = Command::new(REDIS_SERVER);
    cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
        .args(["--protected-mode", "no"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd.spawn().expect("start redis-server")
}

/// One `redis-server` on a free loopback port.
pub(crate) struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: TempDir,
}

impl RedisServer {
    pub(crate) fn start() -> Self {
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("temp dir");
            let port = free_port(false);
            let mut server = Self {
                child: Some(spawn_server(port, dir.path(), &[])),
                port,
                dir,
            };
            if server.wait_ready() {
                return server;
            }
            // The port was taken in between (the server is killed on drop): try another.
        }
        panic!("redis-server did not start");
    }

    /// Waits for PING; false if the process exited first.
    fn wait_ready(&mut self) -> bool {
        let end = Instant::now() + STARTUP;
        loop {
            if answers_ping(self.port) {
                return true;
            }
            if let Some(child) = self.child.as_mut()
                && child.try_wait().ok().flatten().is_some()
            {
                return false;
            }
            assert!(Instant::now() < end, "redis-server did not answer PING");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL) and waits for it to exit.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends a signal (`STOP`, `CONT`) to the server process.
    pub(crate) fn signal(&self, name: &str) {
        let pid = self.child.as_ref().expect("server running").id();
        let status = Command::new("kill")
            .args([&format!("-{name}"), &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} {pid} failed");
    }

    /// Starts a fresh (empty) server on the same port.
    pub(crate) fn restart(&mut self) {
        self.kill();
        let end = Instant::now() + STARTUP;
        loop {
            self.child = Some(spawn_server(self.port, self.dir.path(), &[]));
            if self.wait_ready() {
                return;
            }
            self.kill();
            assert!(
                Instant::now() < end,
                "redis-server did not restart on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs a command with redis-cli and returns its output.
    pub(crate) fn cli(&self, args: &[&str]) -> String {
        cli(self.port, args)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new(REDIS_CLI)
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .expect("run redis-cli");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Three masters, no replicas, slots spread by `redis-cli --cluster create`.
pub(crate) struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    pub(crate) fn start() -> Self {
        let mut nodes = Vec::new();
        while nodes.len() < 3 {
            let dir = tempfile::tempdir().expect("temp dir");
            let port = free_port(true);
            let mut node = RedisServer {
                child: Some(spawn_server(
                    port,
                    dir.path(),
                    &[
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--cluster-node-timeout",
                        "2000",
                    ],
                )),
                port,
                dir,
            };
            if node.wait_ready() {
                nodes.push(node);
            } else {
                node.kill();
            }
        }
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let out = Command::new(REDIS_CLI)
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("run redis-cli --cluster create");
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let cluster = Self { nodes };
        wait_until("cluster_state:ok on every node", STARTUP, || {
            cluster.nodes.iter().all(|n| {
                n.cli(&["CLUSTER", "INFO"])
                    .lines()
                    .any(|l| l.trim() == "cluster_state:ok")
            })
        });
        cluster
    }

    /// Runs a command with redis-cli on every node.
    pub(crate) fn cli_all(&self, args: &[&str]) -> Vec<String> {
        self.nodes.iter().map(|n| n.cli(args)).collect()
    }

    pub(crate) fn url(&self) -> String {
        let hosts: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        format!("redis+cluster://{}", hosts.join(","))
    }
}

/// Two nodes' states on one Redis.
pub(crate) async fn two_nodes(url: &str, options: RedisOptions) -> (RedisState, RedisState) {
    let a = RedisState::connect(url, options.clone())
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    let b = RedisState::connect(url, options)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    (a, b)
}

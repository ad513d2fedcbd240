//! A `redis-server` of the test's own, with AOF persistence, on a free loopback port; it can
//! be stopped and started again on the same port and directory (the AOF keeps the data).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tempfile::TempDir;

use crate::resp::{self, Reply};
use crate::signal::{self, Signal};

/// How long a server may take to answer its first PING (a restart replays the AOF first).
const STARTUP: Duration = Duration::from_secs(30);

/// A `redis-server` child, run as the docs recommend for a cluster of nodes:
/// `appendonly yes`, `appendfsync always`, no RDB snapshots. Killed on drop.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: TempDir,
    /// Arguments given by the test ([`RedisServer::start_with`]).
    extra: Vec<String>,
}

impl RedisServer {
    /// Starts a server in a fresh temporary directory, panicking with the reason if it
    /// cannot.
    pub fn start() -> RedisServer {
        RedisServer::start_with(Vec::new())
    }

    /// Like [`RedisServer::start`], with `args` (e.g. a compose file's command) after the
    /// defaults; the port, address, directory and log file stay the harness's own.
    pub fn start_with(args: Vec<String>) -> RedisServer {
        let mut server = RedisServer {
            child: None,
            port: signal::free_port(),
            dir: tempfile::tempdir().expect("a temporary directory for redis-server"),
            extra: args,
        };
        for _ in 0..5 {
            match server.spawn() {
                Ok(()) => return server,
                Err(e) => eprintln!(
                    "redis-server on port {}: {e:#}; trying another",
                    server.port
                ),
            }
            server.port = signal::free_port();
        }
        panic!("redis-server did not start on any of 5 ports");
    }

    fn spawn(&mut self) -> anyhow::Result<()> {
        let log = self.dir.path().join("redis.log");
        let child = Command::new("redis-server")
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ])
            .args(&self.extra)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--logfile")
            .arg(&log)
            .args(["--protected-mode", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting redis-server (Debian package redis-server)")?;
        self.child = Some(child);
        let end = Instant::now() + STARTUP;
        loop {
            if matches!(self.command(&["PING"]), Ok(Reply::Simple(s)) if s == "PONG") {
                return Ok(());
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() >= end {
                self.kill_now();
                let tail = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: Vec<&str> = tail.lines().rev().take(10).collect();
                bail!("not ready (exit {exited:?}); log tail (newest first): {tail:#?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The port, the same across restarts.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The data directory (the AOF lives in `appendonlydir/` below it).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Whether the server process is running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Sends `signal` and waits for the process to exit; its exit status.
    pub fn stop(&mut self, signal: Signal) -> ExitStatus {
        let mut child = self.child.take().expect("redis-server is not running");
        signal::send(child.id(), signal).expect("signalling redis-server");
        signal::wait_exit(&mut child, STARTUP).unwrap_or_else(|| {
            let _ = child.kill();
            panic!("redis-server did not exit within {STARTUP:?} of SIG{signal:?}")
        })
    }

    /// Starts the server again on the same port with the same directory, after
    /// [`RedisServer::stop`]; it loads its AOF before answering PING.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "restart after stop");
        let end = Instant::now() + STARTUP;
        // The port was ours a moment ago; retry while the kernel still holds it.
        while let Err(e) = self.spawn() {
            assert!(
                Instant::now() < end,
                "redis-server did not restart on port {}: {e:#}",
                self.port
            );
        }
    }

    /// Sends one command on a fresh connection and reads its reply.
    pub fn command(&self, args: &[&str]) -> anyhow::Result<Reply> {
        resp::command(self.port, args)
    }

    /// `INFO <section>` as `field → value`.
    pub fn info(&self, section: &str) -> BTreeMap<String, String> {
        let text = match self.command(&["INFO", section]) {
            Ok(Reply::Bulk(Some(text))) => text,
            other => panic!("INFO {section} answered {other:?}"),
        };
        text.lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
            .collect()
    }

    /// The `calls` of every command in `INFO commandstats`, by lower-case name
    /// (`hgetall`, `client|info`).
    pub fn command_counts(&self) -> BTreeMap<String, u64> {
        self.info("commandstats")
            .into_iter()
            .filter_map(|(k, v)| {
                let name = k.strip_prefix("cmdstat_")?.to_owned();
                let calls = v.strip_prefix("calls=")?.split(',').next()?.parse().ok()?;
                Some((name, calls))
            })
            .collect()
    }

    fn kill_now(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill_now();
    }
}

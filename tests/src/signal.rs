//! Signals to child processes, and waiting for them to exit, with deadlines.

use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// A signal the harness sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// `SIGTERM`: shut down cleanly (Redis flushes its AOF, nginx stops its workers).
    Term,
    /// `SIGKILL`: die at once, with nothing flushed.
    Kill,
    /// `SIGINT`: what Ctrl-C sends; a node stops gracefully (its running requests finish).
    Int,
}

impl Signal {
    /// `TERM`, `KILL`.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Term => "TERM",
            Signal::Kill => "KILL",
            Signal::Int => "INT",
        }
    }
}

/// Sends `signal` to process `pid` with `kill(1)` (the crate forbids `unsafe`, so no
/// `libc::kill`).
pub(crate) fn send(pid: u32, signal: Signal) -> anyhow::Result<()> {
    let status = Command::new("kill")
        .args(["-s", signal.name(), &pid.to_string()])
        .status()
        .context("running kill(1) (Debian package procps)")?;
    if !status.success() {
        bail!("kill -s {} {pid} exited with {status}", signal.name());
    }
    Ok(())
}

/// Waits up to `deadline` for `child` to exit; `None` if it is still running then.
pub(crate) fn wait_exit(child: &mut Child, deadline: Duration) -> Option<ExitStatus> {
    let end = Instant::now() + deadline;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Stops `child`: `SIGTERM`, up to `grace` to exit, then `SIGKILL`. Never fails: for `Drop`.
pub(crate) fn terminate(child: &mut Child, grace: Duration) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    if send(child.id(), Signal::Term).is_ok() && wait_exit(child, grace).is_some() {
        return;
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A free loopback port: bound, read and released. Whoever uses it retries on another one
/// if it was taken meanwhile.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("binding an ephemeral loopback port")
        .port()
}

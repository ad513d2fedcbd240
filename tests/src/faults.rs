//! Faults a test injects into a [`Cluster`]: a node stopped with a signal and started again
//! on its own port (so the balancer's configuration still names it), the Redis pub/sub
//! connections killed, keys deleted.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::cluster::Cluster;
use crate::resp::Reply;
use crate::signal::{self, Signal};

/// How long a signalled node may take to exit, and a restarted one to bind its old port.
const DEADLINE: Duration = Duration::from_secs(15);

impl Cluster {
    /// Stops node `i` with `signal` (`SIGKILL`, or `SIGTERM` then `SIGKILL` after the
    /// deadline) and waits until it is gone. A no-op for a node already stopped.
    pub fn stop_node(&mut self, i: usize, signal: Signal) {
        let Some(mut node) = self.nodes[i].take() else {
            return;
        };
        if signal::send(node.pid(), signal).is_ok()
            && signal::wait_exit(&mut node.child, DEADLINE).is_some()
        {
            return;
        }
        // `Node`'s drop kills and reaps what is left.
        drop(node);
    }

    /// Sends `signal` to node `i` and returns at once (a drain takes its time; see
    /// [`Cluster::wait_node_exit`]).
    pub fn signal_node(&self, i: usize, signal: Signal) -> anyhow::Result<()> {
        let node = self.nodes[i]
            .as_ref()
            .with_context(|| format!("node {i} was stopped already"))?;
        signal::send(node.pid(), signal)
    }

    /// Waits up to `deadline` for node `i` to exit on its own; its exit status, and the
    /// node is gone from the cluster. `None` (the node still running, and kept) after the
    /// deadline.
    pub fn wait_node_exit(
        &mut self,
        i: usize,
        deadline: Duration,
    ) -> Option<std::process::ExitStatus> {
        let node = self.nodes[i].as_mut()?;
        let status = signal::wait_exit(&mut node.child, deadline)?;
        self.nodes[i] = None;
        Some(status)
    }

    /// Whether node `i` is running (not stopped by the test).
    pub fn is_up(&self, i: usize) -> bool {
        self.nodes[i].is_some()
    }

    /// Starts node `i` again on the port it had, after [`Cluster::stop_node`] or
    /// [`Cluster::kill_node`]; retries while the kernel still holds the port.
    pub fn restart_node(&mut self, i: usize) -> anyhow::Result<()> {
        if self.nodes[i].is_some() {
            return Ok(());
        }
        let end = Instant::now() + DEADLINE;
        loop {
            match self.builders[i].clone().try_start() {
                Ok(node) => {
                    self.nodes[i] = Some(node);
                    return Ok(());
                }
                Err(e) if Instant::now() >= end => {
                    return Err(e).with_context(|| format!("restarting node {i}"));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// `CLIENT KILL TYPE pubsub`: every node loses its subscriber connection (and must
    /// reconnect and treat what it may have missed as a gap). The number of connections
    /// killed.
    pub fn kill_pubsub_connections(&self) -> anyhow::Result<i64> {
        match self
            .redis()
            .command(&["CLIENT", "KILL", "TYPE", "pubsub"])?
        {
            Reply::Int(n) => Ok(n),
            other => bail!("CLIENT KILL TYPE pubsub answered {other:?}"),
        }
    }

    /// `DEL keys…`: the number of keys that existed.
    pub fn del_keys(&self, keys: &[&str]) -> anyhow::Result<i64> {
        let mut args = vec!["DEL"];
        args.extend_from_slice(keys);
        match self.redis().command(&args)? {
            Reply::Int(n) => Ok(n),
            other => bail!("DEL answered {other:?}"),
        }
    }

    /// `PUBLISH channel payload`: how many subscribers received it.
    pub fn publish(&self, channel: &str, payload: &str) -> anyhow::Result<i64> {
        match self.redis().command(&["PUBLISH", channel, payload])? {
            Reply::Int(n) => Ok(n),
            other => bail!("PUBLISH answered {other:?}"),
        }
    }
}

//! A cluster on loopback: one `redis-server` (AOF), several `switchyard serve` nodes sharing
//! it, and an nginx round-robin balancer in front of them with no affinity.

use std::net::SocketAddr;

use tempfile::TempDir;

use crate::nginx::Nginx;
use crate::node::{Node, NodeBuilder};
use crate::redis::RedisServer;

/// The bearer token of every node's push API (`SWITCHYARD__ADMIN__TOKEN`).
pub const ADMIN_TOKEN: &str = "cluster-admin-token";

/// The `requestState` key every node shares (`SWITCHYARD__STATELESS__STATE_KEY`), so a
/// 2026-07-28 retry may land on any node.
pub const STATE_KEY: &str = "cluster-state-key-shared-by-every-node";

/// Options for [`Cluster`]; [`Cluster::start`] covers the common case.
#[derive(Debug, Clone)]
pub struct ClusterBuilder {
    nodes: usize,
    backend: String,
    env: Vec<(String, String)>,
    args: Vec<String>,
    state_key: bool,
}

impl ClusterBuilder {
    /// Starts the nodes without [`STATE_KEY`]: they must agree on a `requestState` key
    /// through Redis by themselves.
    pub fn without_state_key(mut self) -> Self {
        self.state_key = false;
        self
    }

    /// Sets an environment variable on every node (e.g. `SWITCHYARD__HTTP__KEEP_ALIVE_SECS`).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Appends an argument to every node's command line (e.g. `--upstream`, `NAME=URL`).
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Starts Redis, then the nodes one after the other (so a fresh demo database is created
    /// and seeded by the first one only), then nginx.
    pub fn start(self) -> Cluster {
        let redis = RedisServer::start();
        let dir = tempfile::tempdir().expect("a temporary directory for the cluster");
        let mut nodes = Vec::new();
        let mut ids = Vec::new();
        let mut builders = Vec::new();
        for i in 0..self.nodes {
            let id = format!("node-{i}");
            // One SQLite file for every demo node: the application behind the gateway has
            // one database, whichever node serves a request.
            let mut builder = Node::builder(&self.backend);
            if self.backend == "demo" {
                builder = builder.demo_db(dir.path().join("demo.db").to_string_lossy());
            }
            builder = builder
                .arg("--redis-url")
                .arg(redis.url())
                .env("SWITCHYARD__NODE_ID", &id)
                .env("SWITCHYARD__ADMIN__TOKEN", ADMIN_TOKEN);
            if self.state_key {
                builder = builder.env("SWITCHYARD__STATELESS__STATE_KEY", STATE_KEY);
            }
            for (k, v) in &self.env {
                builder = builder.env(k, v);
            }
            for a in &self.args {
                builder = builder.arg(a);
            }
            let node = builder.clone().start();
            builders.push(builder.bind(node.addr().to_string()));
            nodes.push(Some(node));
            ids.push(id);
        }
        let addrs: Vec<SocketAddr> = nodes.iter().flatten().map(Node::addr).collect();
        let nginx = Nginx::start(&addrs);
        Cluster {
            nginx,
            nodes,
            ids,
            addrs,
            builders,
            redis,
            _dir: dir,
        }
    }
}

/// A running cluster. Dropping it stops nginx, kills every node, then Redis.
#[derive(Debug)]
pub struct Cluster {
    // Declaration order is drop order: the balancer first, Redis last.
    nginx: Nginx,
    pub(crate) nodes: Vec<Option<Node>>,
    ids: Vec<String>,
    addrs: Vec<SocketAddr>,
    /// How to start each node again on its own port (`faults`).
    pub(crate) builders: Vec<NodeBuilder>,
    redis: RedisServer,
    _dir: TempDir,
}

impl Cluster {
    /// `nodes` nodes serving `backend` (`demo` or `everything`) behind nginx; panics with
    /// the reason when any piece cannot start.
    pub fn start(nodes: usize, backend: &str) -> Cluster {
        Cluster::builder(nodes, backend).start()
    }

    /// Options beyond the node count and the backend.
    pub fn builder(nodes: usize, backend: &str) -> ClusterBuilder {
        ClusterBuilder {
            nodes,
            backend: backend.to_owned(),
            env: Vec::new(),
            args: Vec::new(),
            state_key: true,
        }
    }

    /// The balancer's base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.nginx.url()
    }

    /// The Streamable HTTP endpoint through the balancer.
    pub fn mcp_url(&self) -> String {
        format!("{}/mcp", self.url())
    }

    /// The 2024-11-05 SSE endpoint through the balancer.
    pub fn sse_url(&self) -> String {
        format!("{}/sse", self.url())
    }

    /// The balancer.
    pub fn nginx(&self) -> &Nginx {
        &self.nginx
    }

    /// How many nodes were started (killed ones included).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the cluster was started with no node at all.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Node `i` (panics once it was killed).
    pub fn node(&self, i: usize) -> &Node {
        self.nodes[i]
            .as_ref()
            .unwrap_or_else(|| panic!("node {i} was killed"))
    }

    /// Node `i`'s own base URL, bypassing the balancer.
    pub fn node_url(&self, i: usize) -> String {
        self.node(i).url()
    }

    /// Node `i`'s name, as sent in `X-Switchyard-Node`.
    pub fn node_id(&self, i: usize) -> &str {
        &self.ids[i]
    }

    /// The index of the node named `id` in an `X-Switchyard-Node` header.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.ids.iter().position(|n| n == id)
    }

    /// The indexes of the nodes not killed.
    pub fn live_nodes(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].is_some())
            .collect()
    }

    /// Kills node `i` with SIGKILL and waits until it is gone.
    pub fn kill_node(&mut self, i: usize) {
        let mut node = self.nodes[i]
            .take()
            .unwrap_or_else(|| panic!("node {i} was killed already"));
        assert!(node.is_running(), "node {i} had exited before the kill");
        // `Node`'s drop is `Child::kill` (SIGKILL) and `wait`.
        drop(node);
    }

    /// How many requests nginx passed to each node so far (by node index), from its access
    /// log: to show that a run through the balancer really was spread over the nodes.
    pub fn requests_per_node(&self) -> Vec<usize> {
        let counts = self.nginx.upstream_counts();
        self.addrs
            .iter()
            .map(|a| counts.get(&a.to_string()).copied().unwrap_or(0))
            .collect()
    }

    /// The cluster's Redis.
    pub fn redis(&self) -> &RedisServer {
        &self.redis
    }

    /// The cluster's Redis, to stop and restart it.
    pub fn redis_mut(&mut self) -> &mut RedisServer {
        &mut self.redis
    }
}

//! Three nodes sharing one `redis-server` (AOF) behind an nginx round-robin balancer with no
//! affinity, all started by the tests on loopback ports ([`switchyard_tests::Cluster`]).
//!
//! - `push`: 10,000 admin pushes to random nodes while a client follows its GET stream;
//!   the stream's node is killed with SIGKILL midway; every push arrives exactly once, in
//!   order (`follower`: the resuming client; `pusher`: the pushing tasks; `push_check`: the
//!   counts and what they must be).
//! - `redis_restart`: Redis stopped (SIGTERM, SIGKILL) and started again under an open
//!   session: 503 meanwhile, heartbeats go on, nothing acknowledged is lost
//!   (`raw_stream`: a stream reader that counts keep-alive comments).
//! - `once`: the focused tests of "every message once" across nodes: a resumption on
//!   another node takes the stream alone, a lost log is told (410) and never reuses an id,
//!   a stream whose node died ends with a JSON-RPC error.
//! - `drain`: a node drained with SIGTERM under a GET stream and an in-flight call: the
//!   stream ends with `retry:` and resumes on the other node with every push once; the
//!   call is answered; the node exits 0.
//! - `redis_acl`: a node authenticating with an ACL user whose password comes from the
//!   environment or a file.
//! - `wait_replicas`: `redis.wait_replicas = 1`: an acknowledged push is on the replica;
//!   with the replica gone the push gets 503, while a node with 0 acknowledges it.
//! - `raw_publish`: the raw-Redis envelopes an application may `PUBLISH` itself.
//! - `state_key`: nodes with no configured `stateless.state_key` share one through Redis,
//!   so a 2026-07-28 retry may land on any node; a configured key still wins.
//! - `budget`: `INFO commandstats` deltas around 200 calls: one round trip per POST.
//! - `workers`: one node with 96 HTTP workers on its own Redis, 960 concurrent requests:
//!   no 503, and no more Redis connections than its configuration allows.
//! - `hijack`: sessions bound to principals (`auth.mode = "api_key"`): another principal's
//!   session id gets 404 on every node, its `requestState` is refused.
//! - `conformance`: both conformance requirement sets through the balancer, run and judged
//!   as against one node ([`switchyard_tests::conformance`]).
//! - `interop`: the Python and TypeScript SDK drivers through the balancer.
//! - `support`: a raw Streamable HTTP client for these tests; `admin`: the push API.

mod admin;
mod budget;
mod conformance;
mod drain;
mod follower;
mod hijack;
mod interop;
mod once;
mod push;
mod push_check;
mod pusher;
mod raw_publish;
mod raw_stream;
mod redis_acl;
mod redis_restart;
mod state_key;
mod support;
mod wait_replicas;
mod workers;

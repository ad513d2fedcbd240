#![recursion_limit = "256"]
//! The Redis implementations against real `redis-server` processes: the generic contract
//! suite on one server and on a three-master cluster, the documented key schema, and
//! faults (Redis killed and restarted, connections killed, a flushed Redis), and the command
//! connections of several handles on one state.

mod contract;
mod faults;
mod handles;
mod schema;
mod support;

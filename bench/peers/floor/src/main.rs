//! `bench-peer-floor`: the actix-web floor of `switchyard-bench floor` (the same source file),
//! on the published actix-http. Prints `listening on http://<addr>` like every bench server.

use clap::Parser;

#[path = "../../../../crates/switchyard-bench/src/floor.rs"]
mod floor;

/// The bare actix-web JSON-RPC handler on stock actix-http.
#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    args: floor::FloorArgs,
}

fn main() -> anyhow::Result<()> {
    floor::run(Cli::parse().args)
}

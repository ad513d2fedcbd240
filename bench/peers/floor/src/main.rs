//! `bench-peer-floor`: the actix-web floor of `switchyard-bench floor` (the same source file),
//! on the published actix-http. Prints `listening on http://<addr>` like every bench server.

use std::io::Write;

use clap::Parser;

#[path = "../../../../crates/switchyard-bench/src/floor.rs"]
mod floor;

/// The bare actix-web JSON-RPC handler on stock actix-http.
#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    args: floor::FloorArgs,
}

fn announce(addr: std::net::SocketAddr) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on http://{addr}")?;
    stdout.flush()?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    floor::run(Cli::parse().args)
}

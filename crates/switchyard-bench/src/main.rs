//! `switchyard-bench`: the load tool behind `scripts/bench` and BENCHMARKS.md.
//!
//! ```text
//! switchyard-bench call    --url http://127.0.0.1:8080/mcp --concurrency 32 --duration 10s --mode session
//! switchyard-bench streams --url http://127.0.0.1:8080/mcp --count 16000 --pid 1234
//! switchyard-bench fanout  --push-url http://127.0.0.1:8081 --stream-url http://127.0.0.1:8082/mcp --rate 5000
//! switchyard-bench floor   --bind 127.0.0.1:0
//! switchyard-bench report  --results target/bench/results --out bench
//! ```
//!
//! Each measuring subcommand prints one JSON report on stdout (and writes it to `--out`);
//! `report` turns a directory of them into BENCHMARKS.md and its PNG charts.
//!
//! # Layout
//!
//! - `client` — one HTTP/1.1 keep-alive connection (hyper) and the MCP exchanges over it;
//!   `sse` — the event-stream decoder; `answer` — what is an answer and what is a failure.
//! - `summary` — HdrHistogram latencies and their JSON summary.
//! - `call`, `streams`, `fanout`, `floor` — the subcommands.
//! - `report` — BENCHMARKS.md and the charts (`report/charts.rs`, plotters, bundled font).

mod answer;
mod call;
mod client;
mod fanout;
mod floor;
mod report;
mod sse;
mod streams;
mod summary;

use std::io::Write;
use std::path::Path;

use clap::{Parser, Subcommand};

/// Load tool for Switchyard's benchmarks.
#[derive(Debug, Parser)]
#[command(name = "switchyard-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Calls a tool in a closed loop at a fixed concurrency: throughput, latency, errors.
    Call(call::CallArgs),
    /// Holds idle sessions with open GET streams: server RSS per session+stream.
    Streams(streams::StreamsArgs),
    /// One client process of `streams` (driven through stdin/stdout).
    #[command(hide = true)]
    StreamsWorker(streams::WorkerArgs),
    /// Pushes on node A, receives on node B's GET stream: delivery latency and losses.
    Fanout(fanout::FanoutArgs),
    /// A bare actix-web JSON-RPC handler: the floor.
    Floor(floor::FloorArgs),
    /// Writes BENCHMARKS.md and its charts from a directory of JSON reports.
    Report(report::ReportArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Call(a) => call::run(a),
        Command::Streams(a) => streams::run(a),
        Command::StreamsWorker(a) => streams::run_worker(a),
        Command::Fanout(a) => fanout::run(a),
        Command::Floor(a) => floor::run(a),
        Command::Report(a) => report::run(a),
    }
}

/// Prints a report as JSON on stdout and, when asked, writes it to a file.
fn emit<T: serde::Serialize>(report: &T, out: Option<&Path>) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(report)?;
    if let Some(path) = out {
        std::fs::write(path, format!("{json}\n"))?;
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{json}")?;
    stdout.flush()?;
    Ok(())
}

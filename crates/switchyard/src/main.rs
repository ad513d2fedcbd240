//! The `switchyard` command.

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use switchyard::config::{Config, LogFormat, Overrides};
use switchyard::telemetry;

/// jemalloc rather than glibc malloc: measurably faster on the request path (the allocator
/// was ~15% of the node's CPU under load), at about the same memory per idle stream.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// An MCP gateway that scales out.
#[derive(Debug, Parser)]
#[command(name = "switchyard", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs a node.
    Serve {
        /// Configuration file (default: ./switchyard.toml if present).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port).
        #[arg(long)]
        bind: Option<String>,
        /// Built-in backend: demo or everything.
        #[arg(long)]
        backend: Option<String>,
        /// SQLite file of the demo backend (`:memory:` for a throwaway one).
        #[arg(long)]
        demo_db: Option<PathBuf>,
        /// Keep state in Redis (redis://host:port, or redis+cluster://h1:p1,h2:p2,…) so that
        /// several nodes can serve the same sessions.
        #[arg(long)]
        redis_url: Option<String>,
    },
    /// Configuration tools.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Loads and validates the layered configuration, then prints the result as JSON.
    Check {
        /// Configuration file (default: ./switchyard.toml if present).
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Config {
            command: ConfigCommand::Check { config },
        } => {
            telemetry::logs::init(LogFormat::Text, &Default::default())?;
            let cfg = Config::load(config.as_deref(), &Overrides::default())?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", serde_json::to_string_pretty(&cfg)?)?;
            out.flush()?;
            // What follows from the values, on stderr so that stdout stays JSON.
            for note in cfg.notes() {
                eprintln!("note: {note}");
            }
            Ok(())
        }
        Command::Serve {
            config,
            bind,
            backend,
            demo_db,
            redis_url,
        } => {
            let overrides = Overrides {
                bind,
                backend,
                demo_db,
                redis_url,
            };
            let cfg = Config::load(config.as_deref(), &overrides)?;
            // Logs start once the configuration says their format (a configuration that
            // cannot load is reported on stderr by `main`'s error).
            telemetry::logs::init(cfg.log.format, &cfg.otel)?;
            let ran = actix_web::rt::System::new().block_on(run(cfg));
            // Export the spans still buffered.
            telemetry::traces::shutdown();
            ran
        }
    }
}

async fn run(cfg: Config) -> anyhow::Result<()> {
    let listener = TcpListener::bind(&cfg.bind).with_context(|| format!("binding {}", cfg.bind))?;
    let addr = listener.local_addr()?;
    let metrics_listener = if cfg.metrics.enabled {
        telemetry::metrics::install();
        match cfg.metrics.bind.as_str() {
            "" => None,
            bind => Some(
                TcpListener::bind(bind).with_context(|| format!("binding metrics.bind {bind}"))?,
            ),
        }
    } else {
        None
    };
    let node = switchyard::Node::build(cfg).await?;
    tracing::info!(%addr, backend = %node.config.backend, "switchyard node starting");
    for note in node.config.notes() {
        tracing::info!("{note}");
    }
    let metrics_server = match metrics_listener {
        Some(l) => {
            tracing::info!(addr = %l.local_addr()?, "metrics served on their own listener");
            let server = telemetry::metrics::serve_own(l)?;
            let handle = server.handle();
            actix_web::rt::spawn(server);
            Some(handle)
        }
        None => None,
    };
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{addr}")?;
        out.flush()?;
    }
    // The node handles SIGINT and SIGTERM itself (serve turns actix-web's handling off), so a
    // stop always waits for the requests still running.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let shutdown = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: stopping"),
            _ = term.recv() => tracing::info!("SIGTERM: stopping"),
        }
    };
    switchyard::serve(listener, node, shutdown).await?;
    if let Some(handle) = metrics_server {
        handle.stop(false).await;
    }
    Ok(())
}

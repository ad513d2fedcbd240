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
        /// An upstream MCP server to serve, NAME=URL (e.g. rails=http://127.0.0.1:3000/mcp);
        /// repeatable. Added to the `[[upstreams]]` of the configuration file.
        #[arg(long = "upstream", value_name = "NAME=URL")]
        upstreams: Vec<String>,
    },
    /// Probes a node: GETs URL (e.g. http://127.0.0.1:8080/readyz) and exits 0 when it
    /// answers 2xx, 1 otherwise (refused, timed out, any other status). For container
    /// health checks in images without a shell or curl.
    Healthcheck {
        /// The URL to GET.
        url: String,
        /// Milliseconds the whole exchange may take.
        #[arg(long, default_value_t = 2000)]
        timeout_ms: u64,
    },
    /// Configuration tools.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Loads and validates the layered configuration, then prints the result as JSON, its
    /// secrets redacted.
    Check {
        /// Configuration file (default: ./switchyard.toml if present).
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Healthcheck { url, timeout_ms } => {
            let healthy = healthcheck(&url, std::time::Duration::from_millis(timeout_ms));
            std::process::exit(if healthy { 0 } else { 1 })
        }
        Command::Config {
            command: ConfigCommand::Check { config },
        } => {
            telemetry::logs::init(LogFormat::Text, &Default::default())?;
            let cfg = Config::load(config.as_deref(), &Overrides::default())?;
            let mut out = std::io::stdout().lock();
            // Secrets are printed as "<redacted>" (an unset one stays empty).
            writeln!(out, "{}", serde_json::to_string_pretty(&cfg.redacted())?)?;
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
            upstreams,
        } => {
            let overrides = Overrides {
                bind,
                backend,
                demo_db,
                redis_url,
                upstreams,
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
    if let Some(warning) = node.config.open_to_everyone() {
        tracing::warn!("{warning}");
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
    // stop always drains. A second signal stops it at once.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let (first, first_rx) = tokio::sync::oneshot::channel::<()>();
    actix_web::rt::spawn(async move {
        tokio::select! {
            _ = int.recv() => tracing::info!("SIGINT: draining"),
            _ = term.recv() => tracing::info!("SIGTERM: draining"),
        }
        let _ = first.send(());
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        tracing::warn!("second signal: stopping at once, without finishing the drain");
        std::process::exit(1);
    });
    let shutdown = async move {
        let _ = first_rx.await;
    };
    let admin = if node.config.admin.bind.is_empty() {
        None
    } else {
        let bind = &node.config.admin.bind;
        let admin =
            TcpListener::bind(bind).with_context(|| format!("binding admin.bind {bind}"))?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "admin listening on http://{}", admin.local_addr()?)?;
        out.flush()?;
        Some(admin)
    };
    switchyard::serve_with_admin(listener, admin, node, shutdown).await?;
    if let Some(handle) = metrics_server {
        handle.stop(false).await;
    }
    Ok(())
}

/// `switchyard healthcheck`: whether `url` answers 2xx within `timeout`; why not on stderr.
fn healthcheck(url: &str, timeout: std::time::Duration) -> bool {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("healthcheck: no runtime: {e}");
            return false;
        }
    };
    runtime.block_on(async {
        let client = match reqwest::Client::builder().timeout(timeout).build() {
            Ok(c) => c,
            Err(e) => {
                eprintln!("healthcheck: {e}");
                return false;
            }
        };
        match client.get(url).send().await {
            Ok(r) if r.status().is_success() => true,
            Ok(r) => {
                eprintln!("healthcheck: {url} answered {}", r.status());
                false
            }
            Err(e) => {
                eprintln!("healthcheck: {url}: {e}");
                false
            }
        }
    })
}

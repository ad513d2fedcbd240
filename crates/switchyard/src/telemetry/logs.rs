//! The node's log lines: `tracing` to stderr, as plain text or JSON lines (`log.format`).
//!
//! At `info` a line never carries a message body or a secret: requests are logged by what
//! was decided (a refusal's status, code and reason), not by what they contained.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, OtelConfig};

/// Installs the process' subscriber: `RUST_LOG` (an `EnvFilter`; `info` by default) picks
/// the levels. Text is coloured only for a person at a terminal (`NO_COLOR` turns that off);
/// JSON has one object per line with `timestamp`, `level`, `target`, `fields` and the current
/// span's fields (with tracing on, a request's `span` carries its `trace_id` and `span_id`).
/// With `otel` configured, spans are exported too ([`super::traces`]).
pub fn init(format: LogFormat, otel: &OtelConfig) -> Result<(), super::traces::TraceError> {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let traces = super::traces::layer(otel)?;
    let registry = tracing_subscriber::registry().with(traces);
    let lines = match format {
        LogFormat::Text => {
            let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(colour)
                .boxed()
        }
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
    };
    // A second subscriber (tests build several nodes in one process) is not an error.
    let _ = registry.with(lines).with(filter).try_init();
    Ok(())
}

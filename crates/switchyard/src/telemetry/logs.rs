//! The node's log lines: `tracing` to stderr, as plain text or JSON lines (`log.format`).
//!
//! At `info` a line never carries a message body or a secret: requests are logged by what
//! was decided (a refusal's status, code and reason), not by what they contained.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the process' subscriber: `RUST_LOG` (an `EnvFilter`; `info` by default) picks
/// the levels. Text is coloured only for a person at a terminal (`NO_COLOR` turns that off);
/// JSON has one object per line with `timestamp`, `level`, `target`, `fields` and the
/// current span's fields.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    // A second subscriber (tests build several nodes in one process) is not an error.
    let _ = match format {
        LogFormat::Text => {
            let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            builder.with_ansi(colour).try_init()
        }
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}

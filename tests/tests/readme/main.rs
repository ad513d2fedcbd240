//! The README, walked as a newcomer would: every shell example of `README.md` runs with bash
//! against real nodes and a `redis-server` of the test's own, in README order and in one
//! working directory, with `switchyard` (the binary under test) on `PATH`. The ports the
//! README names are swapped for free ones: 8080 and 8081 for the nodes, 6379 for the test's
//! Redis — so an example never reaches anything the test did not start.
//!
//! An example that exits non-zero, prints something other than the table in `examples` says,
//! or that the table does not know, fails the walk; so does the defaults block, unless it
//! loads and equals the built-in defaults.
//!
//! # Layout
//!
//! - `blocks`: the fenced blocks of a Markdown file.
//! - `examples`: each shell example and how it is run and judged.
//! - `shell`: bash, to completion or in the background, its process group stopped on drop.

mod blocks;
mod examples;
mod shell;

use std::time::{Duration, Instant};

use switchyard_tests::{RedisServer, free_port, switchyard_bin, workspace_root};

use crate::examples::{EXAMPLES, How, example_of, first_command};
use crate::shell::{Background, Shell};

/// One script example, or a node's way to answer `/healthz`.
const STEP: Duration = Duration::from_secs(60);

/// The ports of the README and what the walk puts in their place.
fn substitutions(redis: &RedisServer) -> Vec<(&'static str, String)> {
    vec![
        ("8080", free_port().to_string()),
        ("8081", free_port().to_string()),
        ("6379", redis.port().to_string()),
    ]
}

/// Waits until every node port (8080, 8081) that `script` binds answers `GET /healthz` with `ok`.
async fn wait_healthy(script: &str, ports: &[(&str, String)], node: &mut Background) {
    let http = reqwest::Client::new();
    let nodes = ports.iter().filter(|(from, _)| *from != "6379");
    for (_, port) in nodes.filter(|(_, p)| script.contains(&format!(":{p} "))) {
        let url = format!("http://127.0.0.1:{port}/healthz");
        let end = Instant::now() + STEP;
        loop {
            let answer = http.get(&url).timeout(Duration::from_secs(2)).send().await;
            if let Ok(r) = answer
                && r.status().is_success()
                && r.text().await.is_ok_and(|t| t == "ok")
            {
                break;
            }
            let log_file = node.log.clone();
            let log = || std::fs::read_to_string(&log_file).unwrap_or_default();
            assert!(
                !node.failed(),
                "the server example exited:\n{script}\n{}",
                log()
            );
            assert!(
                Instant::now() < end,
                "{url} did not answer within {STEP:?}:\n{script}\n{}",
                log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The `toml` block of the defaults loads, and `config check` prints with it exactly what
/// it prints with no file.
fn check_defaults(shell: &Shell, toml: &str) {
    std::fs::write(shell.dir.join("readme-defaults.toml"), toml).expect("write the block");
    let (ok, with_file) = shell.run(
        "switchyard config check --config readme-defaults.toml 2>/dev/null",
        STEP,
    );
    assert!(
        ok,
        "the README's defaults block does not load:\n{with_file}"
    );
    let (ok, without) = shell.run("switchyard config check 2>/dev/null", STEP);
    assert!(ok, "{without}");
    assert_eq!(
        with_file, without,
        "the README's defaults block differs from the built-in defaults"
    );
}

#[tokio::test]
async fn every_readme_example_runs_as_written() {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).expect("README.md");
    let redis = RedisServer::start();
    let ports = substitutions(&redis);
    let dir = tempfile::tempdir().expect("a working directory");
    let bin = switchyard_bin();
    let shell = Shell::new(dir.path(), bin.parent().expect("the binary's directory"));

    let blocks = blocks::fenced(&readme);
    let mut used = vec![false; EXAMPLES.len()];
    let mut servers: Vec<Background> = Vec::new();
    let mut ran = 0;
    let mut defaults = 0;
    for block in &blocks {
        let at = format!("README.md:{}", block.line);
        match block.lang.as_str() {
            "toml" => {
                check_defaults(&shell, &block.text);
                defaults += 1;
                continue;
            }
            "sh" => {}
            other => panic!("{at}: a ```{other} block; the walk knows sh and toml"),
        }
        let example = example_of(&block.text).unwrap_or_else(|| {
            panic!(
                "{at}: an example the walk does not know, starting {:?}: add it to \
                 tests/tests/readme/examples.rs",
                first_command(&block.text)
            )
        });
        used[EXAMPLES
            .iter()
            .position(|e| std::ptr::eq(e, example))
            .unwrap()] = true;
        let mut script = block.text.clone();
        for (from, to) in &ports {
            script = script.replace(from, to);
        }
        for (from, _) in &ports {
            assert!(
                !script.contains(from),
                "{at}: port {from} left in\n{script}"
            );
        }
        match example.how {
            How::NotRun(reason) => {
                println!("{at}: not run: {reason}");
                continue;
            }
            How::Server => {
                // One node (or pair) at a time, as a reader stops the last with Ctrl-C.
                servers.clear();
                let log = dir.path().join(format!("server-{}.log", block.line));
                let mut node = shell.spawn(&script, &log);
                wait_healthy(&script, &ports, &mut node).await;
                servers.push(node);
            }
            How::Script { expect, forbid } => {
                let (ok, output) = shell.run(&script, STEP);
                let lower = output.to_lowercase();
                assert!(
                    ok,
                    "{at}: the example failed:\n{script}\n--- output ---\n{output}"
                );
                for e in expect {
                    assert!(
                        lower.contains(e),
                        "{at}: {e:?} not in the output:\n{output}"
                    );
                }
                for f in forbid {
                    assert!(!lower.contains(f), "{at}: {f:?} in the output:\n{output}");
                }
                println!("{at}: ran {:?}", first_command(&block.text));
            }
        }
        ran += 1;
    }
    let stale: Vec<&str> = EXAMPLES
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(e, _)| e.starts)
        .collect();
    assert!(
        stale.is_empty(),
        "examples no README block starts with: {stale:?}"
    );
    assert_eq!(defaults, 1, "one defaults block");
    assert!(ran >= 10, "only {ran} examples ran");
    drop(servers);
}

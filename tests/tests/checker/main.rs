//! A randomized, fault-injecting delivery checker (in the spirit of Jepsen): seeded runs on
//! a three-node cluster (one Redis, nginx round-robin), clients of both eras doing random
//! operations while nodes, Redis and its pub/sub connections fail and log keys are evicted;
//! every operation and every received event goes into a history, which `check` judges
//! against the delivery invariants after a quiet period. See `README.md` in this directory.
//!
//! - `schedule`: the operations, drawn from the seed; `focus`: one fixed schedule per bug.
//! - `run`: executes a schedule on a fresh cluster; `ctx`: what its tasks share.
//! - `follower`: a client's standalone GET stream; `legacy`: an HTTP+SSE session;
//!   `calls`: `tools/call`, resumed until answered; `wire`: raw HTTP/1.1 + SSE on a socket.
//! - `history`: the record; `check`: the invariants.
//!
//! Environment: `CHECKER_RUNS` (default 20), `CHECKER_SEED` (replay one run),
//! `CHECKER_BASE_SEED` (first seed, default 1), `CHECKER_SOAK_SECS` (run seeds until the time
//! is up), `CHECKER_KEEP_GOING=1` (finish every run before failing), `CHECKER_FOCUS=<1..6>`,
//! `CHECKER_DUMP=<dir>` (write each run's whole history to `<dir>/checker-<seed>.log`).

mod calls;
mod check;
mod ctx;
mod focus;
mod follower;
mod history;
mod legacy;
mod run;
mod schedule;
mod wire;

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::history::Rec;
use crate::run::Report;

/// Steps drawn per run (the run stops after `run::ACTIVE` anyway).
const STEPS: usize = 100;

fn env<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// One line of figures about a run.
fn figures(r: &Report) -> String {
    let mut n: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &r.history {
        let k = match &e.rec {
            Rec::Push { status: 202, .. } => "pushes acked",
            Rec::Broadcast { status: 202, .. } => "broadcasts acked",
            Rec::Deliver { .. } => "delivers",
            Rec::Event { .. } => "events",
            Rec::Call { .. } => "calls",
            Rec::Open { .. } => "GETs/POST streams",
            Rec::Fault { .. } => "faults",
            _ => continue,
        };
        *n.entry(k).or_default() += 1;
    }
    format!("{} steps, {n:?}", r.steps_done)
}

/// Writes the whole history to `$CHECKER_DUMP/checker-<name>.log` when asked to.
fn dump(name: &str, r: &Report) {
    if let Ok(dir) = std::env::var("CHECKER_DUMP") {
        let lines: Vec<String> = r.history.iter().map(ToString::to_string).collect();
        let path = format!("{dir}/checker-{name}.log");
        std::fs::write(&path, lines.join("\n")).expect("writing the history dump");
    }
}

/// Prints a failed run: the seed, each violated invariant (a few examples of each), the
/// history of the session of its first example.
fn explain(seed: u64, r: &Report) {
    println!(
        "CHECKER FAILED: seed {seed} (replay: CHECKER_SEED={seed}): {} violation(s)",
        r.violations.len()
    );
    let mut by: BTreeMap<u8, Vec<&check::Violation>> = BTreeMap::new();
    for v in &r.violations {
        by.entry(v.invariant).or_default().push(v);
    }
    for (inv, vs) in by {
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for v in &vs {
            *kinds.entry(v.kind).or_default() += 1;
        }
        println!(
            "  invariant {inv}: {} violation(s) {kinds:?}, e.g.:",
            vs.len()
        );
        for v in vs.iter().take(3) {
            println!("    session {}: {}", v.session, v.message);
        }
        println!("    history of session {} (last 30 lines):", vs[0].session);
        for line in check::excerpt(&r.history, &vs[0].session, 30) {
            println!("      {line}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_runs() {
    let started = Instant::now();
    if let Some(n) = env::<u8>("CHECKER_FOCUS") {
        let r = run::run(&focus::schedule(n)).await;
        println!("focus {n}: {}", figures(&r));
        dump(&format!("focus-{n}"), &r);
        if !r.violations.is_empty() {
            explain(u64::from(n), &r);
            panic!("focus scenario {n}: {} violation(s)", r.violations.len());
        }
        return;
    }
    let soak = env::<u64>("CHECKER_SOAK_SECS").map(Duration::from_secs);
    let base = match (env::<u64>("CHECKER_SEED"), soak) {
        (Some(seed), _) => seed,
        (None, Some(_)) => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_secs()),
        (None, None) => env("CHECKER_BASE_SEED").unwrap_or(1),
    };
    let runs = if env::<u64>("CHECKER_SEED").is_some() {
        1
    } else {
        env("CHECKER_RUNS").unwrap_or(20)
    };
    let keep_going = std::env::var("CHECKER_KEEP_GOING").is_ok_and(|v| v == "1");
    let mut failed: BTreeMap<u8, Vec<u64>> = BTreeMap::new();
    let mut kinds: BTreeMap<(u8, &str), Vec<u64>> = BTreeMap::new();
    let mut i = 0;
    loop {
        let more = match soak {
            Some(d) => started.elapsed() < d,
            None => i < runs,
        };
        if !more {
            break;
        }
        let seed = base + i;
        i += 1;
        let t = Instant::now();
        let r = run::run(&schedule::generate(seed, STEPS)).await;
        println!(
            "checker run {i} CHECKER_SEED={seed}: {:.1} s, {}; violations: {}",
            t.elapsed().as_secs_f64(),
            figures(&r),
            r.violations.len()
        );
        dump(&seed.to_string(), &r);
        if r.violations.is_empty() {
            continue;
        }
        explain(seed, &r);
        for v in &r.violations {
            let seeds = failed.entry(v.invariant).or_default();
            if !seeds.contains(&seed) {
                seeds.push(seed);
            }
            let seeds = kinds.entry((v.invariant, v.kind)).or_default();
            if !seeds.contains(&seed) {
                seeds.push(seed);
            }
        }
        if !keep_going {
            break;
        }
    }
    println!(
        "checker: {i} run(s) in {:.1} s; failing seeds by invariant: {failed:?}",
        started.elapsed().as_secs_f64()
    );
    for ((inv, kind), seeds) in &kinds {
        println!("  invariant {inv}, {kind}: seeds {seeds:?}");
    }
    assert!(
        failed.is_empty(),
        "delivery invariants violated (seeds by invariant): {failed:?}"
    );
}

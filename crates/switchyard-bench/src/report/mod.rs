//! `report`: BENCHMARKS.md and its charts from a directory of JSON reports.
//!
//! The directory holds `call-*.json`, `streams-*.json`, `fanout-*.json` and
//! `instructions-*.json` (read in file-name order), `environment.txt` (`key: value` lines describing the machine and the software) and
//! `commands.txt` (the exact commands run). Reports are told apart by their labels:
//! `switchyard`, `switchyard-redis`, `rmcp`, `floor`, … ([`display_name`]); ratios are to
//! `switchyard`, and the issue's targets are checked against the labels they name.

mod charts;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use serde::de::DeserializeOwned;

use crate::call::{CallReport, Mode};
use crate::fanout::FanoutReport;
use crate::streams::StreamsReport;

/// Arguments of `report`.
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// Directory of JSON reports, environment.txt and commands.txt.
    #[arg(long)]
    results: PathBuf,
    /// Where BENCHMARKS.md and the PNG charts are written.
    #[arg(long)]
    out: PathBuf,
    /// Hand-written analysis included at the end (default: OUT/analysis.md, if present).
    #[arg(long)]
    analysis: Option<PathBuf>,
}

/// Everything one run measured.
#[derive(Debug, Default)]
pub(crate) struct Results {
    /// One report per server and mode: its median round (see [`median_rounds`]).
    pub(crate) calls: Vec<CallReport>,
    /// Every round of each of `calls`, in the order they ran (one entry when measured once).
    pub(crate) rounds: Vec<Vec<CallReport>>,
    pub(crate) streams: Vec<StreamsReport>,
    pub(crate) fanouts: Vec<FanoutReport>,
    pub(crate) instructions: Vec<InstructionsReport>,
    pub(crate) environment: Vec<(String, String)>,
    pub(crate) commands: String,
}

fn read_json<T: DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text = std::fs::read_to_string(path)?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

impl Results {
    /// Loads a results directory.
    pub(crate) fn load(dir: &Path) -> anyhow::Result<Self> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        names.sort();
        let mut r = Results::default();
        let mut calls = Vec::new();
        for path in names {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if !name.ends_with(".json") {
                continue;
            }
            if name.starts_with("call-") {
                calls.push(read_json(&path)?);
            } else if name.starts_with("streams-") {
                r.streams.push(read_json(&path)?);
            } else if name.starts_with("fanout-") {
                r.fanouts.push(read_json(&path)?);
            } else if name.starts_with("instructions-") {
                r.instructions.push(read_json(&path)?);
            }
        }
        if let Ok(env) = std::fs::read_to_string(dir.join("environment.txt")) {
            r.environment = env
                .lines()
                .filter_map(|l| l.split_once(": "))
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .collect();
        }
        r.commands = std::fs::read_to_string(dir.join("commands.txt")).unwrap_or_default();
        (r.calls, r.rounds) = median_rounds(calls);
        Ok(r)
    }

    /// The load average recorded at the start, when it says the machine was busy (> 0.5).
    fn busy_at_start(&self) -> Option<f64> {
        self.environment
            .iter()
            .find(|(k, _)| k == "load average at start")
            .and_then(|(_, v)| v.parse::<f64>().ok())
            .filter(|l| *l > 0.5)
    }

    fn call(&self, label: &str, mode: Mode) -> Option<&CallReport> {
        self.calls
            .iter()
            .find(|c| c.label == label && c.mode == mode)
    }

    fn instructions_of(&self, label: &str) -> Option<&InstructionsReport> {
        self.instructions.iter().find(|i| i.label == label)
    }

    fn streams_of(&self, label: &str) -> Option<&StreamsReport> {
        self.streams.iter().find(|s| s.label == label)
    }
}

fn instructions_table(w: &mut String, r: &Results) {
    let i0 = &r.instructions[0];
    let _ = writeln!(
        w,
        "## Instructions per tools/call\n\nThe same in-session `tools/call echo` as above, each server \
         under `valgrind --tool=callgrind`: {} connections send {} calls, then {} more on new \
         connections; the instructions of the second run less the first's, over the calls they differ \
         by, are what one call costs (set-up is the same in both and cancels). Every thread of the \
         server process counts; Redis's own work does not. Unlike req/s, this does not depend on \
         the machine's speed or on what else runs on it.\n",
        i0.concurrency, i0.small, i0.large
    );
    let _ = writeln!(
        w,
        "| server | instructions per call | vs Switchyard | instructions, small run → large run |\n|---|---:|---:|---:|"
    );
    let reference = r
        .instructions_of("switchyard")
        .and_then(InstructionsReport::per_call);
    for i in &r.instructions {
        let per = i.per_call();
        let vs = match (per, reference) {
            (Some(p), Some(s)) if s > 0.0 => format!("{:.2}×", p / s),
            _ => "—".into(),
        };
        let _ = writeln!(
            w,
            "| {} | {} | {vs} | {} → {} |",
            display_name(&i.label),
            per.map(thousands).unwrap_or_else(|| "—".into()),
            thousands(i.small_ir as f64),
            thousands(i.large_ir as f64),
        );
    }
    let _ = writeln!(w);
}

/// Instructions one server executes per in-session `tools/call`, counted by callgrind
/// (`scripts/bench` writes it): a figure that does not depend on the machine's speed or on
/// what else runs on it, beside the wall-clock ones.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct InstructionsReport {
    pub(crate) label: String,
    /// Connections of the two measured runs, one request in flight each.
    pub(crate) concurrency: usize,
    /// Calls in the smaller and the larger run; their difference is what `per_call` divides by.
    pub(crate) small: u64,
    pub(crate) large: u64,
    /// Instructions (callgrind's `Ir`, every thread of the server) of each run.
    pub(crate) small_ir: u64,
    pub(crate) large_ir: u64,
}

impl InstructionsReport {
    /// `(large_ir - small_ir) / (large - small)`: each run pays the same connection and
    /// session set-up, so the difference is what the extra calls cost.
    pub(crate) fn per_call(&self) -> Option<f64> {
        let calls = self.large.checked_sub(self.small).filter(|n| *n > 0)?;
        let ir = self.large_ir.checked_sub(self.small_ir)?;
        Some(ir as f64 / calls as f64)
    }
}

/// Groups reports of the same server and mode (measured in several rounds, interleaved with
/// the other servers) and picks each group's median round by throughput — the lower of the
/// two middle ones when the count is even. Groups keep the order of their first report;
/// rounds keep their file-name order (`call-…-r1.json`, `-r2`, …).
pub(crate) fn median_rounds(calls: Vec<CallReport>) -> (Vec<CallReport>, Vec<Vec<CallReport>>) {
    let mut groups: Vec<Vec<CallReport>> = Vec::new();
    for c in calls {
        match groups
            .iter_mut()
            .find(|g| g[0].label == c.label && g[0].mode == c.mode)
        {
            Some(g) => g.push(c),
            None => groups.push(vec![c]),
        }
    }
    let medians = groups
        .iter()
        .map(|g| {
            let mut by_rps: Vec<&CallReport> = g.iter().collect();
            by_rps.sort_by(|a, b| a.rps.total_cmp(&b.rps));
            by_rps[(by_rps.len() - 1) / 2].clone()
        })
        .collect();
    (medians, groups)
}

/// The name a label is shown under.
pub(crate) fn display_name(label: &str) -> String {
    match label {
        "floor" => "actix-web floor (no MCP, published actix-http)",
        "switchyard" => "Switchyard, in-memory",
        "switchyard-redis" => "Switchyard, Redis",
        "rmcp" => "rmcp (Rust SDK, axum)",
        "ts-sdk" => "TypeScript SDK v1 (Node)",
        "python-sdk" => "Python SDK 2.x (uvicorn)",
        other => other,
    }
    .to_owned()
}

fn call_name(c: &CallReport) -> String {
    match c.mode {
        Mode::Session => display_name(&c.label),
        Mode::Stateless => format!("{}, stateless", display_name(&c.label)),
    }
}

fn ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn thousands(v: f64) -> String {
    charts::axis_number(v.round())
}

fn errors_text(c: &CallReport) -> String {
    if c.errors == 0 {
        return "0".into();
    }
    let kinds: Vec<String> = c
        .error_kinds
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    format!("{} ({})", c.errors, kinds.join(", "))
}

/// One checked target.
#[derive(Debug, PartialEq)]
pub(crate) struct Verdict {
    pub(crate) target: String,
    pub(crate) measured: String,
    /// `None` when it could not be measured in this run.
    pub(crate) met: Option<bool>,
}

/// The issue's targets, checked against the results.
pub(crate) fn verdicts(r: &Results) -> Vec<Verdict> {
    let mut out = Vec::new();
    let sy = r.call("switchyard", Mode::Session);
    let redis = r.call("switchyard-redis", Mode::Session);
    let rmcp = r.call("rmcp", Mode::Session);
    let floor = r.call("floor", Mode::Session);
    let ratio = |a: Option<&CallReport>, b: Option<&CallReport>| match (a, b) {
        (Some(a), Some(b)) if b.rps > 0.0 => Some(a.rps / b.rps),
        _ => None,
    };
    let mut check = |target: &str,
                     value: Option<f64>,
                     fmt: &dyn Fn(f64) -> String,
                     ok: &dyn Fn(f64) -> bool| {
        out.push(Verdict {
            target: target.to_owned(),
            measured: value.map(fmt).unwrap_or_else(|| "not measured".into()),
            met: value.map(ok),
        });
    };
    check(
        "in-memory, in-session tools/call ≥ 2.5× rmcp",
        ratio(sy, rmcp),
        &|x| format!("{x:.2}×"),
        &|x| x >= 2.5,
    );
    check(
        "in-memory ≥ 80% of the actix-web floor",
        ratio(sy, floor),
        &|x| format!("{:.0}%", x * 100.0),
        &|x| x >= 0.8,
    );
    // Instruction counts: fewer is faster, so the ratios are the other server's count over
    // Switchyard's.
    let per_call = |label: &str| {
        r.instructions_of(label)
            .and_then(InstructionsReport::per_call)
    };
    let fewer = |other: &str| match (per_call(other), per_call("switchyard")) {
        (Some(o), Some(s)) if s > 0.0 => Some(o / s),
        _ => None,
    };
    check(
        "in-memory instructions per tools/call ≤ rmcp's ÷ 2.5",
        fewer("rmcp"),
        &|x| format!("{x:.2}× fewer"),
        &|x| x >= 2.5,
    );
    check(
        "in-memory instructions per tools/call ≤ the floor's ÷ 0.8",
        fewer("floor"),
        &|x| format!("{:.0}% of the floor's speed", x * 100.0),
        &|x| x >= 0.8,
    );
    check(
        "in-memory p99 ≤ 2 ms",
        sy.map(|c| c.latency.p99_ms),
        &|x| format!("{} ms", ms(x)),
        &|x| x <= 2.0,
    );
    check(
        "Redis state ≥ 1.5× rmcp",
        ratio(redis, rmcp),
        &|x| format!("{x:.2}×"),
        &|x| x >= 1.5,
    );
    let held = r.streams_of("switchyard-redis");
    check(
        "≥ 15,000 idle session+streams held by one node (Redis mode)",
        held.map(|s| s.held as f64),
        &thousands,
        &|x| x >= 15_000.0,
    );
    check(
        "≤ 12 KiB server RSS per idle session+stream (Redis mode)",
        held.map(|s| s.kib_per_stream),
        &|x| format!("{x:.1} KiB"),
        &|x| x <= 12.0,
    );
    let fan = r.fanouts.first();
    check(
        "cross-node delivery through Redis: p99 ≤ 2 ms at 5,000 msg/s",
        fan.filter(|f| f.rate >= 5000).map(|f| f.latency.p99_ms),
        &|x| format!("{} ms", ms(x)),
        &|x| x <= 2.0,
    );
    if let Some(f) = fan {
        check(
            "cross-node delivery loses nothing",
            Some(f.lost as f64),
            &|x| format!("{x:.0} lost of {}", f.accepted),
            &|x| x == 0.0,
        );
    }
    out
}

/// The markdown of BENCHMARKS.md.
pub(crate) fn markdown(r: &Results, analysis: Option<&str>) -> String {
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(w, "# Benchmarks\n");
    let _ = writeln!(
        w,
        "Generated by `scripts/bench` (the load tool is `crates/switchyard-bench`); do not edit by hand — \
         the analysis at the end comes from `bench/analysis.md`. Every server runs pinned to CPU 0 \
         (`taskset -c 0`, one worker thread where the server has a setting for it) and the load tool \
         to CPU 1; all traffic is HTTP/1.1 keep-alive on loopback.\n"
    );
    if let Some(load) = r.busy_at_start() {
        let _ = writeln!(
            w,
            "> **Warning**: the load average was {load} when this run started — something else was \
             using the CPUs, so these numbers understate every server. Rerun on a quiet machine.\n"
        );
    }
    if !r.environment.is_empty() {
        let _ = writeln!(w, "## Machine and software\n\n| | |\n|---|---|");
        for (k, v) in &r.environment {
            let _ = writeln!(w, "| {k} | {v} |");
        }
        let _ = writeln!(w);
    }
    let verdicts = verdicts(r);
    let _ = writeln!(
        w,
        "## Targets (issues 5 and 16)\n\n| target | measured | met |\n|---|---|---|"
    );
    for v in &verdicts {
        let met = match v.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "—",
        };
        let _ = writeln!(w, "| {} | {} | {met} |", v.target, v.measured);
    }
    let _ = writeln!(w);
    if !r.calls.is_empty() {
        let reference = r.call("switchyard", Mode::Session);
        let c0 = &r.calls[0];
        let _ = writeln!(
            w,
            "## Tool calls\n\n`tools/call echo {{\"text\":\"hello\"}}`, {} connections with one request in flight \
             each, {:.0} s measured after {:.0} s of warm-up. Session mode opens one session per connection \
             (2025-11-25 `initialize`); stateless mode sends 2026-07-28 requests. Latency is from writing \
             the request to parsing its answer.\n",
            c0.concurrency, c0.duration_s, c0.warmup_s
        );
        let most = r.rounds.iter().map(Vec::len).max().unwrap_or(1);
        if most > 1 {
            let _ = writeln!(
                w,
                "Servers with a target ratio are measured in up to {most} interleaved rounds (each server \
                 in turn, then all again), so a passing disturbance of the machine costs one round of one \
                 server rather than a whole figure. Each row is that server's median round by throughput \
                 (ratios and targets use it); the last column lists every round as req/s (p99 ms).\n"
            );
        }
        let _ = writeln!(
            w,
            "| server | req/s | vs Switchyard | p50 ms | p99 ms | p99.9 ms | max ms | errors | rounds |\n|---|---:|---:|---:|---:|---:|---:|---|---|"
        );
        for (c, rounds) in r
            .calls
            .iter()
            .zip(r.rounds.iter().map(Some).chain(std::iter::repeat(None)))
        {
            let rounds = match rounds {
                Some(g) if g.len() > 1 => g
                    .iter()
                    .map(|x| format!("{} ({})", thousands(x.rps), ms(x.latency.p99_ms)))
                    .collect::<Vec<_>>()
                    .join(" · "),
                _ => "single run".into(),
            };
            let vs = reference
                .filter(|s| s.rps > 0.0)
                .map(|s| format!("{:.2}×", c.rps / s.rps))
                .unwrap_or_else(|| "—".into());
            let _ = writeln!(
                w,
                "| {} | {} | {vs} | {} | {} | {} | {} | {} | {rounds} |",
                call_name(c),
                thousands(c.rps),
                ms(c.latency.p50_ms),
                ms(c.latency.p99_ms),
                ms(c.latency.p999_ms),
                ms(c.latency.max_ms),
                errors_text(c)
            );
        }
        let _ = writeln!(
            w,
            "\n![throughput](throughput.png)\n\n![latency](latency.png)\n"
        );
    }
    if !r.instructions.is_empty() {
        instructions_table(w, r);
    }
    if !r.streams.is_empty() {
        let _ = writeln!(
            w,
            "## Idle sessions with an open GET stream\n\nEach session: `initialize`, \
             `notifications/initialized`, then a `GET` that stays open, all on one connection. The \
             server's RSS (`VmRSS`) is read with none open and after each half; KiB per session+stream \
             is the slope between the two halves (one-off costs fall out). The projection is the RSS \
             at 1,000,000 streams on that slope (memory only: one process would also need a million \
             file descriptors).\n"
        );
        let _ = writeln!(
            w,
            "| server | held | KiB per session+stream | overall KiB/stream | RSS idle → held | projected RSS at 1M |\n|---|---:|---:|---:|---:|---:|"
        );
        for s in &r.streams {
            let (first, last) = (s.points.first(), s.points.last());
            let rss = match (first, last) {
                (Some(a), Some(b)) => format!(
                    "{:.0} → {:.0} MiB",
                    a.rss_kib as f64 / 1024.0,
                    b.rss_kib as f64 / 1024.0
                ),
                _ => "—".into(),
            };
            let also: Vec<String> = s
                .also_kib_per_stream
                .iter()
                .map(|(k, v)| format!("{k} +{v:.1}"))
                .collect();
            let also = if also.is_empty() {
                String::new()
            } else {
                format!(" ({})", also.join(", "))
            };
            let failed = if s.failed > 0 {
                format!(" ({} failed)", thousands(s.failed as f64))
            } else {
                String::new()
            };
            let _ = writeln!(
                w,
                "| {} | {} of {}{failed} | {:.1}{also} | {:.1} | {rss} | {:.1} GiB |",
                display_name(&s.label),
                thousands(s.held as f64),
                thousands(s.count as f64),
                s.kib_per_stream,
                s.kib_per_stream_overall,
                s.projected_1m_gib
            );
        }
        let _ = writeln!(w, "\n![memory per idle stream](streams.png)\n");
    }
    for f in &r.fanouts {
        let _ = writeln!(
            w,
            "## Cross-node delivery\n\n{}: notifications pushed through node A's admin API at {} msg/s \
             (achieved {:.0}) for {:.0} s, received on a GET stream held by node B; latency from \
             writing the push to reading the event.\n",
            f.label, f.rate, f.achieved_rate, f.duration_s
        );
        let _ = writeln!(
            w,
            "| pushed | accepted | received | lost | duplicates | reordered within a push connection | p50 ms | p99 ms | p99.9 ms | max ms | push RTT p99 ms |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        let errs: u64 = f.push_errors.values().sum();
        let _ = writeln!(
            w,
            "| {} | {}{} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            thousands(f.sent as f64),
            thousands(f.accepted as f64),
            if errs > 0 {
                format!(" ({errs} push errors: {:?})", f.push_errors)
            } else {
                String::new()
            },
            thousands(f.received as f64),
            f.lost,
            f.duplicates,
            f.out_of_order,
            ms(f.latency.p50_ms),
            ms(f.latency.p99_ms),
            ms(f.latency.p999_ms),
            ms(f.latency.max_ms),
            ms(f.push_latency.p99_ms)
        );
        let _ = writeln!(w, "\n![cross-node delivery latency](fanout.png)\n");
    }
    if let Some(a) = analysis {
        let _ = writeln!(w, "## Analysis\n\n{}\n", a.trim());
    }
    if !r.commands.trim().is_empty() {
        let _ = writeln!(
            w,
            "## Exact commands\n\nAs run by `scripts/bench` (ports are picked at run time):\n\n```sh\n{}\n```",
            r.commands.trim()
        );
    }
    md
}

fn draw_charts(r: &Results, out: &Path) -> anyhow::Result<()> {
    let err = |e: Box<dyn std::error::Error>| anyhow::anyhow!("drawing a chart: {e}");
    if !r.calls.is_empty() {
        let items: Vec<charts::Bar> = r
            .calls
            .iter()
            .map(|c| charts::Bar {
                name: call_name(c),
                value: c.rps,
                text: format!("{} req/s", thousands(c.rps)),
            })
            .collect();
        charts::bars(
            &out.join("throughput.png"),
            "tools/call throughput, 32 connections, server on one core",
            "requests per second",
            &items,
            None,
        )
        .map_err(err)?;
        let curves: Vec<charts::Curve> = r
            .calls
            .iter()
            .map(|c| charts::Curve {
                name: call_name(c),
                points: c.latency.curve.clone(),
            })
            .collect();
        charts::latency_curves(
            &out.join("latency.png"),
            "tools/call latency by percentile",
            &curves,
        )
        .map_err(err)?;
    }
    if !r.streams.is_empty() {
        let items: Vec<charts::Bar> = r
            .streams
            .iter()
            .map(|s| charts::Bar {
                name: display_name(&s.label),
                value: s.kib_per_stream.max(0.0),
                text: format!(
                    "{:.1} KiB ({} held)",
                    s.kib_per_stream,
                    thousands(s.held as f64)
                ),
            })
            .collect();
        charts::bars(
            &out.join("streams.png"),
            "Server memory per idle session + GET stream",
            "KiB of RSS per session+stream",
            &items,
            Some((12.0, "target: 12 KiB (Redis mode)")),
        )
        .map_err(err)?;
    }
    if let Some(f) = r.fanouts.first() {
        let curves = [
            charts::Curve {
                name: "push on A → event on B's stream".into(),
                points: f.latency.curve.clone(),
            },
            charts::Curve {
                name: "admin POST round trip on A".into(),
                points: f.push_latency.curve.clone(),
            },
        ];
        charts::latency_curves(
            &out.join("fanout.png"),
            &format!("Cross-node delivery at {} msg/s", f.rate),
            &curves,
        )
        .map_err(err)?;
    }
    Ok(())
}

/// Runs `report`.
pub(crate) fn run(args: ReportArgs) -> anyhow::Result<()> {
    let results = Results::load(&args.results)?;
    std::fs::create_dir_all(&args.out)?;
    let analysis_path = args
        .analysis
        .clone()
        .unwrap_or_else(|| args.out.join("analysis.md"));
    let analysis = std::fs::read_to_string(&analysis_path).ok();
    draw_charts(&results, &args.out)?;
    let md = markdown(&results, analysis.as_deref());
    let path = args.out.join("BENCHMARKS.md");
    std::fs::write(&path, md)?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests;

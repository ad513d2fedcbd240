use std::collections::BTreeMap;

use super::*;
use crate::streams::Point;
use crate::summary::LatencySummary;

fn latency(p50: f64, p99: f64) -> LatencySummary {
    LatencySummary {
        count: 1000,
        mean_ms: p50,
        p50_ms: p50,
        p90_ms: p50,
        p99_ms: p99,
        p999_ms: p99 * 2.0,
        max_ms: p99 * 3.0,
        curve: vec![
            (0.0, p50 / 2.0),
            (50.0, p50),
            (99.0, p99),
            (99.9, p99 * 2.0),
        ],
    }
}

fn call(label: &str, mode: Mode, rps: f64, p99: f64) -> CallReport {
    CallReport {
        label: label.into(),
        url: "http://127.0.0.1:1/mcp".into(),
        mode,
        tool: "echo".into(),
        concurrency: 32,
        warmup_s: 2.0,
        duration_s: 10.0,
        requests: (rps * 10.0) as u64,
        errors: 0,
        error_kinds: BTreeMap::new(),
        warmup_errors: 0,
        rps,
        latency: latency(p99 / 3.0, p99),
    }
}

fn streams(label: &str, held: u64, kib: f64) -> StreamsReport {
    StreamsReport {
        label: label.into(),
        url: "http://127.0.0.1:1/mcp".into(),
        count: 16_000,
        held,
        failed: 16_000 - held,
        processes: 2,
        open_s: 10.0,
        points: vec![
            Point {
                streams: 0,
                rss_kib: 10_240,
                also_kib: BTreeMap::new(),
            },
            Point {
                streams: held,
                rss_kib: 10_240 + (kib * held as f64) as u64,
                also_kib: BTreeMap::new(),
            },
        ],
        kib_per_stream: kib,
        kib_per_stream_overall: kib,
        also_kib_per_stream: BTreeMap::from([("redis".to_owned(), 1.5)]),
        projected_1m_gib: kib * 1e6 / 1024.0 / 1024.0,
    }
}

fn fanout(p99: f64, lost: u64) -> FanoutReport {
    FanoutReport {
        label: "A → B".into(),
        push_url: "http://127.0.0.1:1".into(),
        stream_url: "http://127.0.0.1:2/mcp".into(),
        rate: 5000,
        achieved_rate: 4999.0,
        duration_s: 10.0,
        sent: 50_000,
        accepted: 50_000,
        push_errors: BTreeMap::new(),
        received: 50_000 - lost,
        lost,
        duplicates: 0,
        out_of_order: 3,
        latency: latency(0.5, p99),
        push_latency: latency(0.3, 0.9),
    }
}

/// A callgrind report whose runs differ by 10,000 calls of `per_call` instructions each.
fn instructions(label: &str, per_call: u64) -> InstructionsReport {
    InstructionsReport {
        label: label.into(),
        concurrency: 32,
        small: 2_000,
        large: 12_000,
        small_ir: 7_000_000 + 2_000 * per_call,
        large_ir: 7_000_000 + 12_000 * per_call,
    }
}

#[test]
fn instructions_per_call_are_the_difference_of_the_two_runs() {
    assert_eq!(
        instructions("switchyard", 50_000).per_call(),
        Some(50_000.0)
    );
    let mut odd = instructions("switchyard", 1);
    odd.large = odd.small;
    assert_eq!(
        odd.per_call(),
        None,
        "no calls between the runs: nothing to divide by"
    );
    let md = markdown(&sample(), None);
    assert!(
        md.contains("| Switchyard, in-memory | 50,000 | 1.00× | 107,000,000 → 607,000,000 |"),
        "{md}"
    );
    assert!(
        md.contains("| rmcp (Rust SDK, axum) | 150,000 | 3.00× |"),
        "{md}"
    );
}

fn sample() -> Results {
    Results {
        calls: vec![
            call("floor", Mode::Session, 40_000.0, 1.0),
            call("switchyard", Mode::Session, 30_000.0, 1.5),
            call("switchyard", Mode::Stateless, 33_000.0, 1.4),
            call("switchyard-redis", Mode::Session, 12_000.0, 4.0),
            call("rmcp", Mode::Session, 10_000.0, 5.0),
        ],
        rounds: Vec::new(),
        streams: vec![streams("switchyard-redis", 16_000, 13.5)],
        fanouts: vec![fanout(1.2, 0)],
        instructions: vec![
            instructions("floor", 40_000),
            instructions("switchyard", 50_000),
            instructions("rmcp", 150_000),
        ],
        environment: vec![("nproc".into(), "2".into())],
        commands: "switchyard-bench call --url http://127.0.0.1:1/mcp\n".into(),
    }
}

fn verdict<'a>(v: &'a [Verdict], starts: &str) -> &'a Verdict {
    v.iter().find(|x| x.target.starts_with(starts)).unwrap()
}

#[test]
fn targets_are_checked_against_the_named_servers() {
    let v = verdicts(&sample());
    let sy_rmcp = verdict(&v, "in-memory, in-session");
    assert_eq!(
        (sy_rmcp.measured.as_str(), sy_rmcp.met),
        ("3.00×", Some(true))
    );
    let floor = verdict(&v, "in-memory ≥ 80%");
    assert_eq!((floor.measured.as_str(), floor.met), ("75%", Some(false)));
    let ir_rmcp = verdict(&v, "in-memory instructions per tools/call ≤ rmcp");
    assert_eq!(
        (ir_rmcp.measured.as_str(), ir_rmcp.met),
        ("3.00× fewer", Some(true))
    );
    let ir_floor = verdict(&v, "in-memory instructions per tools/call ≤ the floor");
    assert_eq!(
        (ir_floor.measured.as_str(), ir_floor.met),
        ("80% of the floor's speed", Some(true))
    );
    assert_eq!(verdict(&v, "in-memory p99").met, Some(true));
    let redis = verdict(&v, "Redis state");
    assert_eq!((redis.measured.as_str(), redis.met), ("1.20×", Some(false)));
    assert_eq!(verdict(&v, "≥ 15,000").met, Some(true));
    let kib = verdict(&v, "≤ 12 KiB");
    assert_eq!((kib.measured.as_str(), kib.met), ("13.5 KiB", Some(false)));
    assert_eq!(verdict(&v, "cross-node delivery through").met, Some(true));
    assert_eq!(verdict(&v, "cross-node delivery loses").met, Some(true));
}

#[test]
fn missing_measurements_are_said_not_guessed() {
    let mut r = sample();
    r.calls.retain(|c| c.label != "rmcp");
    r.fanouts = vec![fanout(3.0, 7)];
    let v = verdicts(&r);
    let sy_rmcp = verdict(&v, "in-memory, in-session");
    assert_eq!(
        (sy_rmcp.measured.as_str(), sy_rmcp.met),
        ("not measured", None)
    );
    assert_eq!(verdict(&v, "cross-node delivery through").met, Some(false));
    let lost = verdict(&v, "cross-node delivery loses");
    assert_eq!(
        (lost.measured.as_str(), lost.met),
        ("7 lost of 50000", Some(false))
    );
}

#[test]
fn markdown_has_the_tables_ratios_and_charts() {
    let md = markdown(&sample(), Some("The profile shows X."));
    assert!(
        md.contains("| Switchyard, in-memory | 30,000 | 1.00× | 0.50 | 1.50 | 3.00 | 4.50 | 0 |"),
        "{md}"
    );
    assert!(
        md.contains("| rmcp (Rust SDK, axum) | 10,000 | 0.33× |"),
        "{md}"
    );
    assert!(
        md.contains("| Switchyard, in-memory, stateless | 33,000 | 1.10× |"),
        "{md}"
    );
    assert!(
        md.contains("| Switchyard, Redis | 16,000 of 16,000 | 13.5 (redis +1.5) |"),
        "{md}"
    );
    assert!(
        md.contains("| Redis state ≥ 1.5× rmcp | 1.20× | **no** |"),
        "{md}"
    );
    assert!(md.contains("| nproc | 2 |"));
    for png in ["throughput.png", "latency.png", "streams.png", "fanout.png"] {
        assert!(md.contains(&format!("]({png})")), "{png} is embedded");
    }
    assert!(md.contains("## Analysis\n\nThe profile shows X."));
    assert!(md.contains("```sh\nswitchyard-bench call --url http://127.0.0.1:1/mcp\n```"));
}

#[test]
fn a_busy_machine_is_called_out() {
    let mut r = sample();
    assert!(!markdown(&r, None).contains("**Warning**"));
    r.environment
        .push(("load average at start".into(), "0.12".into()));
    assert!(!markdown(&r, None).contains("**Warning**"));
    r.environment
        .push(("load average at start".into(), "2.5".into()));
    r.environment.remove(1);
    assert!(markdown(&r, None).contains("the load average was 2.5 when this run started"));
}

#[test]
fn a_results_directory_round_trips() {
    let dir = std::env::temp_dir().join(format!("sy-bench-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let r = sample();
    for (i, c) in r.calls.iter().enumerate() {
        let path = dir.join(format!("call-{i:02}.json"));
        std::fs::write(path, serde_json::to_string(c).unwrap()).unwrap();
    }
    std::fs::write(
        dir.join("streams-00.json"),
        serde_json::to_string(&r.streams[0]).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("fanout-00.json"),
        serde_json::to_string(&r.fanouts[0]).unwrap(),
    )
    .unwrap();
    // What scripts/bench writes for a callgrind run, byte for byte in shape.
    std::fs::write(
        dir.join("instructions-1-switchyard.json"),
        r#"{"label":"switchyard","concurrency":32,"small":2000,"large":12000,"small_ir":100,"large_ir":50100}"#,
    )
    .unwrap();
    std::fs::write(dir.join("environment.txt"), "nproc: 2\nkernel: 6.1\n").unwrap();
    std::fs::write(dir.join("notes.json"), "not a report").unwrap();
    let loaded = Results::load(&dir).unwrap();
    let labels: Vec<&str> = loaded.calls.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "floor",
            "switchyard",
            "switchyard",
            "switchyard-redis",
            "rmcp"
        ]
    );
    assert_eq!((loaded.streams.len(), loaded.fanouts.len()), (1, 1));
    assert_eq!(loaded.instructions[0].per_call(), Some(5.0));
    assert_eq!(
        loaded.environment[1],
        ("kernel".to_owned(), "6.1".to_owned())
    );
    let out = dir.join("out");
    run(ReportArgs {
        results: dir.clone(),
        out: out.clone(),
        analysis: None,
    })
    .unwrap();
    for f in [
        "BENCHMARKS.md",
        "throughput.png",
        "latency.png",
        "streams.png",
        "fanout.png",
    ] {
        assert!(out.join(f).metadata().unwrap().len() > 100, "{f} written");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn rounds_are_grouped_by_server_and_mode_and_the_median_round_stands_for_them() {
    let calls = vec![
        call("floor", Mode::Session, 100.0, 0.3),
        call("switchyard", Mode::Session, 70.0, 0.5),
        call("switchyard", Mode::Stateless, 60.0, 0.6),
        call("floor", Mode::Session, 90.0, 0.4),
        call("switchyard", Mode::Session, 50.0, 0.9),
        call("floor", Mode::Session, 120.0, 0.2),
        call("switchyard", Mode::Session, 80.0, 0.4),
        call("rmcp", Mode::Session, 30.0, 1.0),
        call("rmcp", Mode::Session, 20.0, 1.5),
    ];
    let (medians, rounds) = median_rounds(calls);
    let picked: Vec<(&str, Mode, f64)> = medians
        .iter()
        .map(|c| (c.label.as_str(), c.mode, c.rps))
        .collect();
    assert_eq!(
        picked,
        [
            ("floor", Mode::Session, 100.0),
            ("switchyard", Mode::Session, 70.0),
            ("switchyard", Mode::Stateless, 60.0),
            // An even count takes the lower middle round.
            ("rmcp", Mode::Session, 20.0),
        ]
    );
    let floor_rounds: Vec<f64> = rounds[0].iter().map(|c| c.rps).collect();
    assert_eq!(
        floor_rounds,
        [100.0, 90.0, 120.0],
        "rounds keep their order"
    );
    assert_eq!(
        rounds.iter().map(Vec::len).collect::<Vec<_>>(),
        [3, 3, 1, 2]
    );
}

#[test]
fn the_page_lists_every_round_and_judges_the_median() {
    let dir = std::env::temp_dir().join(format!("sy-bench-rounds-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let rounds = [
        ("1-floor", call("floor", Mode::Session, 100_000.0, 0.3)),
        (
            "2-switchyard",
            call("switchyard", Mode::Session, 90_000.0, 0.5),
        ),
        ("5-rmcp", call("rmcp", Mode::Session, 30_000.0, 1.0)),
    ];
    // Round 2 of Switchyard is disturbed; rounds 1 and 3 are not.
    for (r, scale) in [(1, 1.0), (2, 0.5), (3, 1.02)] {
        for (name, c) in &rounds {
            let mut c = c.clone();
            if c.label == "switchyard" {
                c.rps *= scale;
            }
            let path = dir.join(format!("call-{name}-r{r}.json"));
            std::fs::write(path, serde_json::to_string(&c).unwrap()).unwrap();
        }
    }
    let loaded = Results::load(&dir).unwrap();
    assert_eq!(loaded.calls.len(), 3);
    assert_eq!(loaded.calls[1].rps, 90_000.0);
    let md = markdown(&loaded, None);
    assert!(md.contains("3 interleaved rounds"), "{md}");
    assert!(
        md.contains("90,000 (0.50) · 45,000 (0.50) · 91,800 (0.50)"),
        "{md}"
    );
    let v = verdicts(&loaded);
    assert_eq!(verdict(&v, "in-memory, in-session").measured, "3.00×");
    std::fs::remove_dir_all(&dir).unwrap();
}

//! `streams`: the server memory each idle session with an open GET stream costs.
//!
//! The parent reads the server's resident set (`VmRSS` in `/proc/<pid>/status`) with no
//! client connected, then has its worker processes (`streams-worker`, the same binary) open
//! sessions — `initialize`, `notifications/initialized`, then `GET` on the same connection,
//! which stays open — up to `count/steps`, `2·count/steps`, … `count` in all, reading the RSS
//! after each step once it has settled. KiB per session+stream is the slope between the last
//! two steps (so one-off costs — thread stacks, the first allocations of pools — fall out),
//! and the projection to 1M streams is `RSS(count) + slope · (1M − count)`.
//!
//! One client process can hold at most its open-file limit in connections (the soft limit is
//! raised to the hard one; here that is 20,000), so the count is spread over `--processes`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use futures::StreamExt;
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};

use crate::answer::Failure;
use crate::client::{Conn, Target};
use crate::summary::parse_duration;

const OPEN_DEADLINE: Duration = Duration::from_secs(30);
/// Connections one client process may hold, below a 20,000 open-file limit.
const PER_PROCESS: u64 = 15_000;

/// Arguments of `streams`.
#[derive(Debug, Args)]
pub(crate) struct StreamsArgs {
    /// The MCP endpoint.
    #[arg(long)]
    url: String,
    /// Sessions (each with a GET stream) to hold at the end.
    #[arg(long)]
    count: u64,
    /// Client processes to spread the connections over (default: one per 15,000).
    #[arg(long)]
    processes: Option<u64>,
    /// The server's process id, whose RSS is read.
    #[arg(long)]
    pid: u32,
    /// Other processes whose RSS to report too, as NAME=PID (e.g. redis=1234).
    #[arg(long = "also", value_parser = parse_named_pid)]
    also: Vec<(String, u32)>,
    /// Sizes measured: count/steps, 2·count/steps, … count.
    #[arg(long, default_value_t = 2)]
    steps: u64,
    /// Sessions each worker process opens at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Pause before each RSS reading.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    settle: Duration,
    #[arg(long)]
    label: Option<String>,
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Arguments of the hidden `streams-worker`.
#[derive(Debug, Args)]
pub(crate) struct WorkerArgs {
    #[arg(long)]
    url: String,
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
}

/// One RSS reading.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Point {
    /// Streams open (and still open) when read.
    pub(crate) streams: u64,
    pub(crate) rss_kib: u64,
    /// The `--also` processes' RSS.
    pub(crate) also_kib: BTreeMap<String, u64>,
}

/// The JSON report of `streams`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StreamsReport {
    pub(crate) label: String,
    pub(crate) url: String,
    /// Streams asked for.
    pub(crate) count: u64,
    /// Streams still open at the last reading.
    pub(crate) held: u64,
    /// Sessions or streams that failed to open.
    pub(crate) failed: u64,
    pub(crate) processes: u64,
    /// Seconds spent opening all sessions and streams.
    pub(crate) open_s: f64,
    /// The readings, the first with no stream open.
    pub(crate) points: Vec<Point>,
    /// Server KiB per session+stream: the slope between the last two readings.
    pub(crate) kib_per_stream: f64,
    /// (RSS at the end − RSS with none) / streams.
    pub(crate) kib_per_stream_overall: f64,
    /// The slope for each `--also` process.
    pub(crate) also_kib_per_stream: BTreeMap<String, f64>,
    /// Projected server RSS holding 1,000,000 streams, GiB.
    pub(crate) projected_1m_gib: f64,
}

fn parse_named_pid(s: &str) -> Result<(String, u32), String> {
    let (name, pid) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=PID, got {s:?}"))?;
    let pid = pid.parse().map_err(|_| format!("not a pid: {pid:?}"))?;
    Ok((name.to_owned(), pid))
}

/// `VmRSS` in KiB from the text of `/proc/<pid>/status`.
pub(crate) fn parse_vm_rss(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
}

/// `Max open files` (soft) from the text of `/proc/<pid>/limits`.
pub(crate) fn parse_open_files_limit(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The resident set of a process, KiB.
pub(crate) fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status (is the server running?)"))?;
    parse_vm_rss(&status).with_context(|| format!("no VmRSS in /proc/{pid}/status"))
}

/// The slope between the last two points, KiB per stream.
pub(crate) fn slope(points: &[(u64, u64)]) -> f64 {
    match points {
        [.., (n0, r0), (n1, r1)] if n1 > n0 => (*r1 as f64 - *r0 as f64) / (n1 - n0) as f64,
        _ => 0.0,
    }
}

/// Splits `n` as evenly as possible over `k` parts.
pub(crate) fn split(n: u64, k: u64) -> Vec<u64> {
    (0..k).map(|i| n / k + u64::from(i < n % k)).collect()
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Worker {
    fn spawn(url: &str, concurrency: usize) -> anyhow::Result<Self> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(["streams-worker", "--url", url, "--concurrency"])
            .arg(concurrency.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("starting a streams-worker")?;
        let stdin = child.stdin.take().context("worker stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("worker stdout")?);
        Ok(Self {
            child,
            stdin,
            stdout,
        })
    }

    fn ask(&mut self, line: &str) -> anyhow::Result<()> {
        writeln!(self.stdin, "{line}")?;
        self.stdin.flush()?;
        Ok(())
    }

    /// Waits for `held <live> <failed>`.
    fn answer(&mut self) -> anyhow::Result<(u64, u64)> {
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        let mut parts = line.split_whitespace();
        match (parts.next(), parts.next(), parts.next()) {
            (Some("held"), Some(live), Some(failed)) => Ok((live.parse()?, failed.parse()?)),
            _ => anyhow::bail!("unexpected answer from a streams-worker: {line:?}"),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.ask("exit");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `streams` and prints its report.
pub(crate) fn run(args: StreamsArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.count > 0 && args.steps > 0,
        "--count and --steps must be positive"
    );
    Target::parse(&args.url)?;
    let processes = args
        .processes
        .unwrap_or_else(|| args.count.div_ceil(PER_PROCESS))
        .max(1);
    let label = args.label.clone().unwrap_or_else(|| args.url.clone());
    let limit = rlimit::increase_nofile_limit(u64::MAX)?;
    let per = args.count.div_ceil(processes);
    anyhow::ensure!(
        per + 64 <= limit,
        "{per} connections per process exceed the open-file limit {limit}: use more --processes"
    );
    if let Some(server_limit) = std::fs::read_to_string(format!("/proc/{}/limits", args.pid))
        .ok()
        .as_deref()
        .and_then(parse_open_files_limit)
        && server_limit < args.count + 64
    {
        eprintln!(
            "warning: the server's open-file limit is {server_limit}, below {} streams",
            args.count
        );
    }
    eprintln!(
        "streams {label}: {} sessions+streams over {processes} processes",
        args.count
    );
    let mut workers = (0..processes)
        .map(|_| Worker::spawn(&args.url, args.concurrency))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let read = |streams: u64| -> anyhow::Result<Point> {
        std::thread::sleep(args.settle);
        let mut also_kib = BTreeMap::new();
        for (name, pid) in &args.also {
            also_kib.insert(name.clone(), rss_kib(*pid)?);
        }
        Ok(Point {
            streams,
            rss_kib: rss_kib(args.pid)?,
            also_kib,
        })
    };
    let mut points = vec![read(0)?];
    let (mut held, mut failed, mut opened) = (0, 0, 0);
    let started = Instant::now();
    for step in 1..=args.steps {
        let goal = args.count * step / args.steps;
        for (w, n) in workers.iter_mut().zip(split(goal - opened, processes)) {
            w.ask(&format!("open {n}"))?;
        }
        (held, failed) = (0, 0);
        for w in &mut workers {
            let (l, f) = w.answer()?;
            held += l;
            failed += f;
        }
        opened = goal;
        eprintln!("  {held} streams open ({failed} failed so far)");
        points.push(read(held)?);
    }
    let open_s = started.elapsed().as_secs_f64();
    // A last look: streams that were closed by the server while we measured.
    for w in &mut workers {
        w.ask("count")?;
    }
    let mut still = 0;
    for w in &mut workers {
        still += w.answer()?.0;
    }
    drop(workers);
    let server: Vec<(u64, u64)> = points.iter().map(|p| (p.streams, p.rss_kib)).collect();
    let kib_per_stream = slope(&server);
    let (first, last) = (&points[0], &points[points.len() - 1]);
    let also_kib_per_stream = args
        .also
        .iter()
        .map(|(name, _)| {
            let pts: Vec<(u64, u64)> = points
                .iter()
                .map(|p| (p.streams, p.also_kib.get(name).copied().unwrap_or(0)))
                .collect();
            (name.clone(), slope(&pts))
        })
        .collect();
    let report = StreamsReport {
        label,
        url: args.url.clone(),
        count: args.count,
        held: still.min(held),
        failed,
        processes,
        open_s,
        kib_per_stream,
        kib_per_stream_overall: if last.streams > 0 {
            (last.rss_kib as f64 - first.rss_kib as f64) / last.streams as f64
        } else {
            0.0
        },
        also_kib_per_stream,
        projected_1m_gib: (last.rss_kib as f64
            + kib_per_stream * (1_000_000u64.saturating_sub(last.streams)) as f64)
            / (1024.0 * 1024.0),
        points,
    };
    crate::emit(&report, args.out.as_deref())
}

/// One held stream: the connection and the task reading its body.
struct Held {
    _conn: Conn,
    _reader: tokio::task::JoinHandle<()>,
}

async fn open_one(target: &Target, live: Arc<AtomicU64>) -> Result<Held, Failure> {
    let mut conn = Conn::open(target).await?;
    let session = conn.open_session(OPEN_DEADLINE).await?;
    let mut body = tokio::time::timeout(OPEN_DEADLINE, conn.open_get_stream(&session))
        .await
        .map_err(|_| Failure::Timeout)??;
    live.fetch_add(1, Ordering::Relaxed);
    let reader = tokio::spawn(async move {
        while let Some(Ok(_)) = body.frame().await {}
        live.fetch_sub(1, Ordering::Relaxed);
    });
    Ok(Held {
        _conn: conn,
        _reader: reader,
    })
}

/// Runs a `streams-worker`: reads `open N`, `count` and `exit` on stdin, answers
/// `held <live> <failed>` on stdout.
pub(crate) fn run_worker(args: WorkerArgs) -> anyhow::Result<()> {
    rlimit::increase_nofile_limit(u64::MAX)?;
    let target = Target::parse(&args.url)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        use tokio::io::AsyncBufReadExt;
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        let live = Arc::new(AtomicU64::new(0));
        let mut held: Vec<Held> = Vec::new();
        let mut failed = 0u64;
        let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
        while let Some(line) = lines.next_line().await? {
            let line = line.trim();
            if let Some(n) = line.strip_prefix("open ") {
                let n: u64 = n.parse()?;
                let results: Vec<_> = futures::stream::iter(0..n)
                    .map(|_| open_one(&target, live.clone()))
                    .buffer_unordered(args.concurrency.max(1))
                    .collect()
                    .await;
                for r in results {
                    match r {
                        Ok(h) => held.push(h),
                        Err(f) => {
                            failed += 1;
                            *kinds.entry(f.label()).or_default() += 1;
                        }
                    }
                }
                if !kinds.is_empty() {
                    eprintln!("  streams-worker failures: {kinds:?}");
                }
            } else if line == "exit" {
                break;
            } else if line != "count" {
                anyhow::bail!("unknown command {line:?}");
            }
            println!("held {} {failed}", live.load(Ordering::Relaxed));
        }
        drop(held);
        anyhow::Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vm_rss_and_open_file_limit() {
        let status = "Name:\tswitchyard\nVmPeak:\t  900000 kB\nVmRSS:\t   12345 kB\nThreads:\t3\n";
        assert_eq!(parse_vm_rss(status), Some(12345));
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max open files            1024                 20000                files     \n";
        assert_eq!(parse_open_files_limit(limits), Some(1024));
    }

    #[test]
    fn reads_this_process() {
        let kib = rss_kib(std::process::id()).unwrap();
        assert!(
            kib > 100,
            "a running test process holds more than 100 KiB: {kib}"
        );
    }

    #[test]
    fn slope_of_the_last_two_points() {
        assert_eq!(
            slope(&[(0, 10_000), (5_000, 60_000), (10_000, 100_000)]),
            8.0
        );
        assert_eq!(slope(&[(0, 10_000)]), 0.0);
        assert_eq!(slope(&[(10, 500), (10, 900)]), 0.0, "no growth in streams");
        assert_eq!(slope(&[(0, 900), (100, 500)]), -4.0, "memory may shrink");
    }

    #[test]
    fn splits_evenly() {
        assert_eq!(split(10, 3), vec![4, 3, 3]);
        assert_eq!(split(2, 4), vec![1, 1, 0, 0]);
        assert_eq!(split(16_000, 2).iter().sum::<u64>(), 16_000);
    }

    #[test]
    fn named_pids() {
        assert_eq!(parse_named_pid("redis=42"), Ok(("redis".into(), 42)));
        assert!(parse_named_pid("redis").is_err());
        assert!(parse_named_pid("redis=x").is_err());
    }
}

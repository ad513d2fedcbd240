//! `fanout`: cross-node delivery latency. A session is opened on node B and its GET stream
//! held there; notifications carrying their send time are pushed at a fixed rate through
//! node A's admin API (`POST /admin/v1/sessions/{id}/messages`); the latency of each is the
//! time from just before its push was written to its arrival on B's stream. Node A appends
//! the message to the session's stream log and publishes it; node B, subscribed to the
//! session's channel, writes it to the stream — the path a message takes between two
//! replicas sharing Redis.
//!
//! Pushes are spread over `--connections` keep-alive connections; the message `seq` is due at
//! `start + seq/rate` (tokio's timer wakes on the millisecond, so sends come in small bursts).
//! Messages pushed during the warm-up are delivered but not measured. A message is lost when
//! node A accepted it (202) and it had not arrived `--grace` after the last push.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Args;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::Method;
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::answer::Failure;
use crate::client::{Conn, Target, drain};
use crate::sse::SseDecoder;
use crate::summary::{self, LatencySummary, parse_duration};

const METHOD: &str = "notifications/message";
const LOGGER: &str = "switchyard-bench";

/// Arguments of `fanout`.
#[derive(Debug, Args)]
pub(crate) struct FanoutArgs {
    /// Node A (pushes go to its admin API), e.g. http://127.0.0.1:8081.
    #[arg(long)]
    push_url: String,
    /// Node B's MCP endpoint (the stream is held there), e.g. http://127.0.0.1:8082/mcp.
    #[arg(long)]
    stream_url: String,
    /// The admin bearer token.
    #[arg(long, env = "SWITCHYARD__ADMIN__TOKEN", hide_env_values = true)]
    token: String,
    /// Messages per second.
    #[arg(long, default_value_t = 5000)]
    rate: u64,
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    warmup: Duration,
    /// Connections pushing to node A.
    #[arg(long, default_value_t = 16)]
    connections: u64,
    /// How long to wait for stragglers after the last push.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    grace: Duration,
    #[arg(long)]
    label: Option<String>,
    #[arg(long)]
    out: Option<PathBuf>,
}

/// The JSON report of `fanout`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FanoutReport {
    pub(crate) label: String,
    pub(crate) push_url: String,
    pub(crate) stream_url: String,
    /// Messages per second asked for.
    pub(crate) rate: u64,
    /// Messages per second actually pushed in the measured window.
    pub(crate) achieved_rate: f64,
    pub(crate) duration_s: f64,
    /// Measured messages pushed, and of those accepted (202) by node A.
    pub(crate) sent: u64,
    pub(crate) accepted: u64,
    pub(crate) push_errors: BTreeMap<String, u64>,
    /// Accepted measured messages that arrived, and that did not.
    pub(crate) received: u64,
    pub(crate) lost: u64,
    pub(crate) duplicates: u64,
    /// Messages that arrived after a later message of the same push connection. A connection
    /// pushes its next message only once node A accepted the previous one, so any such
    /// inversion is a real ordering fault (messages of different connections may interleave).
    pub(crate) out_of_order: u64,
    /// Push → arrival on node B's stream.
    pub(crate) latency: LatencySummary,
    /// The admin POST's own round trip.
    pub(crate) push_latency: LatencySummary,
}

/// The push body for message `seq`, sent `t_ns` after the run's base instant.
pub(crate) fn tick(seq: u64, t_ns: u64) -> String {
    json!({
        "jsonrpc": "2.0", "method": METHOD,
        "params": {"level": "info", "logger": LOGGER, "data": {"seq": seq, "t": t_ns}},
    })
    .to_string()
}

/// `(seq, t_ns)` of a tick, or `None` for any other message.
pub(crate) fn parse_tick(data: &[u8]) -> Option<(u64, u64)> {
    let v: Value = serde_json::from_slice(data).ok()?;
    if v.get("method")?.as_str()? != METHOD {
        return None;
    }
    let params = v.get("params")?;
    if params.get("logger")?.as_str()? != LOGGER {
        return None;
    }
    let d = params.get("data")?;
    Some((d.get("seq")?.as_u64()?, d.get("t")?.as_u64()?))
}

fn nanos_since(base: Instant) -> u64 {
    u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// What the stream reader saw.
pub(crate) struct Received {
    pub(crate) hist: Histogram<u64>,
    /// Arrivals per seq.
    pub(crate) seen: Vec<u8>,
    pub(crate) out_of_order: u64,
    /// The highest seq seen so far from each push connection (`seq % lanes`).
    highest: Vec<Option<u64>>,
    measure_from: u64,
}

impl Received {
    fn new(total: u64, lanes: u64, measure_from: u64) -> Self {
        Self {
            hist: summary::histogram(),
            seen: vec![0; total as usize],
            out_of_order: 0,
            highest: vec![None; lanes.max(1) as usize],
            measure_from,
        }
    }

    /// Notes one arrival; only seqs at or past `measure_from` are timed.
    pub(crate) fn note(&mut self, seq: u64, latency_ns: u64) {
        let Some(slot) = self.seen.get_mut(seq as usize) else {
            return;
        };
        *slot = slot.saturating_add(1);
        if *slot > 1 {
            return;
        }
        let lanes = self.highest.len() as u64;
        let highest = &mut self.highest[(seq % lanes) as usize];
        if highest.is_some_and(|h| seq < h) {
            self.out_of_order += 1;
        }
        *highest = Some(highest.map_or(seq, |h| h.max(seq)));
        if seq >= self.measure_from {
            summary::record(&mut self.hist, Duration::from_nanos(latency_ns));
        }
    }
}

async fn read_stream(
    mut body: Incoming,
    base: Instant,
    mut got: Received,
    arrived: Arc<AtomicU64>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) -> Received {
    let mut decoder = SseDecoder::default();
    loop {
        let frame = tokio::select! {
            f = body.frame() => f,
            _ = &mut stop => break,
        };
        let Some(Ok(frame)) = frame else {
            eprintln!("fanout: the stream on node B ended early");
            break;
        };
        let Some(data) = frame.data_ref() else {
            continue;
        };
        decoder.push(data);
        while let Some(event) = decoder.next_event() {
            if let Some((seq, t)) = parse_tick(&event) {
                let now = nanos_since(base);
                got.note(seq, now.saturating_sub(t));
                arrived.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    got
}

struct PushTally {
    accepted: Vec<u64>,
    errors: BTreeMap<String, u64>,
    hist: Histogram<u64>,
}

/// What every pusher shares.
struct PushPlan {
    target: Target,
    path: String,
    auth: String,
    base: Instant,
    start: Instant,
    interval_ns: f64,
    measure_from: u64,
}

async fn pusher(plan: Arc<PushPlan>, seqs: impl Iterator<Item = u64>) -> PushTally {
    let mut tally = PushTally {
        accepted: Vec::new(),
        errors: BTreeMap::new(),
        hist: summary::histogram(),
    };
    let mut conn: Option<Conn> = None;
    for seq in seqs {
        let due = plan.start + Duration::from_nanos((seq as f64 * plan.interval_ns) as u64);
        tokio::time::sleep_until(due.into()).await;
        if conn.is_none() {
            match Conn::open(&plan.target).await {
                Ok(c) => conn = Some(c),
                Err(f) => {
                    *tally.errors.entry(f.label()).or_default() += 1;
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        let t0 = Instant::now();
        let body = Bytes::from(tick(seq, nanos_since(plan.base)));
        let req = c
            .request(Method::POST, &plan.path)
            .header(CONTENT_TYPE, "application/json")
            .header(AUTHORIZATION, plan.auth.as_str())
            .body(Full::new(body));
        let result = match req {
            Ok(req) => push_one(c, req).await,
            Err(e) => Err(Failure::BadBody(e.to_string())),
        };
        match result {
            Ok(()) => {
                if seq >= plan.measure_from {
                    summary::record(&mut tally.hist, t0.elapsed());
                }
                tally.accepted.push(seq);
            }
            Err(f) => {
                if f.breaks_connection() {
                    conn = None;
                }
                *tally.errors.entry(f.label()).or_default() += 1;
            }
        }
    }
    tally
}

async fn push_one(c: &mut Conn, req: hyper::Request<Full<Bytes>>) -> Result<(), Failure> {
    let exchange = async {
        let resp = c.send(req).await?;
        let status = resp.status();
        drain(resp.into_body()).await?;
        Ok::<_, Failure>(status)
    };
    let status = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .map_err(|_| Failure::Timeout)??;
    if status.as_u16() == 202 {
        Ok(())
    } else {
        Err(Failure::Status(status.as_u16()))
    }
}

/// Runs `fanout` and prints its report.
pub(crate) fn run(args: FanoutArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.rate > 0 && args.connections > 0,
        "--rate and --connections must be positive"
    );
    let push_target = Target::parse(&args.push_url)?;
    let stream_target = Target::parse(&args.stream_url)?;
    let label = args
        .label
        .clone()
        .unwrap_or_else(|| format!("{} -> {}", args.push_url, args.stream_url));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = rt.block_on(async {
        let base = Instant::now();
        let mut conn = Conn::open(&stream_target)
            .await
            .map_err(|f| anyhow::anyhow!("connecting to node B: {f}"))?;
        let session = conn
            .open_session(Duration::from_secs(10))
            .await
            .map_err(|f| anyhow::anyhow!("opening a session on node B: {f}"))?;
        let sid = session
            .id
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| anyhow::anyhow!("node B gave no Mcp-Session-Id"))?
            .to_owned();
        let body = tokio::time::timeout(Duration::from_secs(10), conn.open_get_stream(&session))
            .await
            .map_err(|_| anyhow::anyhow!("node B did not answer the GET within 10 s"))?
            .map_err(|f| anyhow::anyhow!("opening the GET stream on node B: {f}"))?;
        let measure_from = (args.rate as f64 * args.warmup.as_secs_f64()) as u64;
        let total = measure_from + (args.rate as f64 * args.duration.as_secs_f64()) as u64;
        eprintln!(
            "fanout {label}: {} msg/s for {:?} (+{:?} warm-up), session {sid}",
            args.rate, args.duration, args.warmup
        );
        let arrived = Arc::new(AtomicU64::new(0));
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        let reader = tokio::spawn(read_stream(
            body,
            base,
            Received::new(total, args.connections, measure_from),
            arrived.clone(),
            stop_rx,
        ));
        let start = Instant::now() + Duration::from_millis(100);
        let plan = Arc::new(PushPlan {
            target: push_target,
            path: format!("/admin/v1/sessions/{sid}/messages"),
            auth: format!("Bearer {}", args.token),
            base,
            start,
            interval_ns: 1e9 / args.rate as f64,
            measure_from,
        });
        let mut set = tokio::task::JoinSet::new();
        for i in 0..args.connections {
            let seqs = (i..total).step_by(args.connections as usize);
            set.spawn(pusher(plan.clone(), seqs));
        }
        let mut accepted = Vec::new();
        let mut push_errors = BTreeMap::new();
        let mut push_hist = summary::histogram();
        while let Some(t) = set.join_next().await {
            let t = t?;
            accepted.extend(t.accepted);
            push_hist.add(&t.hist)?;
            for (k, n) in t.errors {
                *push_errors.entry(k).or_default() += n;
            }
        }
        let pushed_at = Instant::now();
        let window = pushed_at.duration_since(start).as_secs_f64() - args.warmup.as_secs_f64();
        let grace_end = pushed_at + args.grace;
        while arrived.load(Ordering::Relaxed) < accepted.len() as u64 && Instant::now() < grace_end
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let _ = stop_tx.send(());
        let got = reader.await?;
        drop(conn);
        let measured: Vec<u64> = accepted
            .into_iter()
            .filter(|&s| s >= measure_from)
            .collect();
        let received = measured
            .iter()
            .filter(|&&s| got.seen[s as usize] > 0)
            .count() as u64;
        let sent = total - measure_from;
        anyhow::Ok(FanoutReport {
            label,
            push_url: args.push_url.clone(),
            stream_url: args.stream_url.clone(),
            rate: args.rate,
            achieved_rate: sent as f64 / window.max(1e-9),
            duration_s: args.duration.as_secs_f64(),
            sent,
            accepted: measured.len() as u64,
            push_errors,
            received,
            lost: measured.len() as u64 - received,
            duplicates: got
                .seen
                .iter()
                .map(|&n| u64::from(n.saturating_sub(1)))
                .sum(),
            out_of_order: got.out_of_order,
            latency: summary::summarize(&got.hist),
            push_latency: summary::summarize(&push_hist),
        })
    })?;
    crate::emit(&report, args.out.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_round_trip_and_other_messages_are_ignored() {
        let t = tick(41, 123_456_789);
        assert_eq!(parse_tick(t.as_bytes()), Some((41, 123_456_789)));
        let other = br#"{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","logger":"app","data":{"seq":1,"t":2}}}"#;
        assert_eq!(parse_tick(other), None);
        assert_eq!(parse_tick(b""), None);
        assert_eq!(parse_tick(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#), None);
    }

    #[test]
    fn arrivals_count_duplicates_and_order_per_connection() {
        // Two push connections: even seqs on one, odd on the other.
        let mut r = Received::new(10, 2, 1);
        let arrivals = [
            (0, 5),
            (3, 5),
            (2, 6),
            (3, 5),
            (4, 9_000),
            (1, 7_000),
            (99, 1),
        ];
        for (seq, lat_us) in arrivals {
            r.note(seq, lat_us * 1000);
        }
        assert_eq!(&r.seen[..6], &[1, 1, 1, 2, 1, 0]);
        assert_eq!(
            r.out_of_order, 1,
            "1 after 3 on the odd connection; 2 after 3 is across connections"
        );
        let s = summary::summarize(&r.hist);
        assert_eq!(
            s.count, 4,
            "seq 0 is warm-up; the duplicate and the unknown seq are not timed"
        );
        assert!((s.max_ms - 9.0).abs() < 0.01, "{}", s.max_ms);
    }
}

//! `call`: tool-call throughput and latency at a fixed concurrency.
//!
//! Each worker owns one keep-alive connection. In `session` mode it opens a session on it
//! (`initialize` + `notifications/initialized`); in `stateless` mode it sends 2026-07-28
//! requests (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name` headers and `_meta`). Then it
//! calls the tool in a closed loop: one request in flight per connection. Latency runs from
//! just before the request is written to the moment its answer is parsed (for an SSE answer:
//! the event holding it). Only requests that start after the warm-up and finish before the
//! end are measured; failures are counted by kind, and a failure that breaks the connection
//! (or a 404 for a forgotten session) makes the worker reconnect and reopen its session.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Args, ValueEnum};
use hdrhistogram::Histogram;
use hyper::header::HeaderValue;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::answer::{Failure, check_tool_result};
use crate::client::{Conn, STATELESS_VERSION, SessionHeaders, Target};
use crate::summary::{self, LatencySummary, parse_duration};

const REQUEST_DEADLINE: Duration = Duration::from_secs(10);

/// How requests are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Mode {
    /// A legacy session per connection (initialize, then requests with `Mcp-Session-Id`).
    Session,
    /// The stateless 2026-07-28 revision: every request stands alone.
    Stateless,
}

/// Arguments of `call`.
#[derive(Debug, Args)]
pub(crate) struct CallArgs {
    /// The MCP endpoint, e.g. http://127.0.0.1:8080/mcp.
    #[arg(long)]
    url: String,
    /// Connections, each with one request in flight.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// How long to measure (after the warm-up).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// How long to run before measuring.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,
    /// Send exactly this many calls in all (across every connection), then stop, even if
    /// `--duration` has not passed: what an instruction count per call divides by. Every
    /// call counts, measured or not, so use it with `--warmup 0s`.
    #[arg(long)]
    requests: Option<u64>,
    #[arg(long, value_enum, default_value_t = Mode::Session)]
    mode: Mode,
    /// The tool to call; its arguments are `{"text": TEXT}`, and for `echo` the answer's
    /// text must be TEXT.
    #[arg(long, default_value = "echo")]
    tool: String,
    #[arg(long, default_value = "hello")]
    text: String,
    /// A name for the report (default: the URL).
    #[arg(long)]
    label: Option<String>,
    /// Also write the JSON report to this file.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// The JSON report of `call`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CallReport {
    pub(crate) label: String,
    pub(crate) url: String,
    pub(crate) mode: Mode,
    pub(crate) tool: String,
    pub(crate) concurrency: usize,
    pub(crate) warmup_s: f64,
    pub(crate) duration_s: f64,
    /// Successful calls measured.
    pub(crate) requests: u64,
    /// Failed calls in the measured window.
    pub(crate) errors: u64,
    pub(crate) error_kinds: BTreeMap<String, u64>,
    /// Failures during the warm-up (not in `errors`).
    pub(crate) warmup_errors: u64,
    /// Successful calls per second.
    pub(crate) rps: f64,
    pub(crate) latency: LatencySummary,
}

struct Plan {
    target: Target,
    mode: Mode,
    tool: String,
    expect: Option<String>,
    body_prefix: Vec<u8>,
    body_suffix: Vec<u8>,
    start: Instant,
    end: Instant,
    /// Calls left to send when `--requests` caps them (claimed one at a time by workers).
    budget: Option<AtomicU64>,
}

impl Plan {
    /// Takes one call from the budget; false when `--requests` calls were sent.
    fn claim(&self) -> bool {
        self.budget.as_ref().is_none_or(|left| {
            left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
        })
    }

    fn body(&self, id: u64) -> Bytes {
        let mut b = Vec::with_capacity(self.body_prefix.len() + self.body_suffix.len() + 20);
        b.extend_from_slice(&self.body_prefix);
        b.extend_from_slice(id.to_string().as_bytes());
        b.extend_from_slice(&self.body_suffix);
        Bytes::from(b)
    }
}

/// The request body around its id: `prefix <id> suffix`.
fn body_parts(mode: Mode, tool: &str, text: &str) -> (Vec<u8>, Vec<u8>) {
    let mut params = json!({"name": tool, "arguments": {"text": text}});
    if mode == Mode::Stateless {
        params["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": STATELESS_VERSION,
            "io.modelcontextprotocol/clientCapabilities": {},
        });
    }
    let suffix = format!(r#","method":"tools/call","params":{params}}}"#);
    (br#"{"jsonrpc":"2.0","id":"#.to_vec(), suffix.into_bytes())
}

#[derive(Default)]
struct Tally {
    ok: u64,
    errors: BTreeMap<String, u64>,
    warmup_errors: u64,
}

impl Tally {
    fn fail(&mut self, measured: bool, f: &Failure) {
        if measured {
            *self.errors.entry(f.label()).or_default() += 1;
        } else {
            self.warmup_errors += 1;
        }
    }
}

async fn connect(plan: &Plan) -> Result<(Conn, SessionHeaders), Failure> {
    let mut conn = Conn::open(&plan.target).await?;
    let session = match plan.mode {
        Mode::Session => conn.open_session(REQUEST_DEADLINE).await?,
        Mode::Stateless => SessionHeaders {
            id: None,
            version: Some(HeaderValue::from_static(STATELESS_VERSION)),
        },
    };
    Ok((conn, session))
}

async fn worker(plan: Arc<Plan>, first_id: u64) -> (Histogram<u64>, Tally) {
    let mut hist = summary::histogram();
    let mut tally = Tally::default();
    let mut conn: Option<(Conn, SessionHeaders)> = None;
    let mut id = first_id;
    let stateless_headers = [
        ("mcp-method", "tools/call"),
        ("mcp-name", plan.tool.as_str()),
    ];
    let extra: &[(&'static str, &str)] = match plan.mode {
        Mode::Session => &[],
        Mode::Stateless => &stateless_headers,
    };
    loop {
        let t0 = Instant::now();
        if t0 >= plan.end {
            break;
        }
        let measured = t0 >= plan.start;
        if conn.is_none() {
            match connect(&plan).await {
                Ok(c) => conn = Some(c),
                Err(f) => {
                    tally.fail(measured, &f);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            }
        }
        let Some((c, session)) = conn.as_mut() else {
            continue;
        };
        if !plan.claim() {
            break;
        }
        id += 1;
        let body = plan.body(id);
        let t0 = Instant::now();
        let result = c
            .call(session, extra, id, body, REQUEST_DEADLINE)
            .await
            .and_then(|a| {
                check_tool_result(&a.message, plan.expect.as_deref())?;
                Ok(a.at)
            });
        match result {
            Ok(at) if measured && at <= plan.end => {
                summary::record(&mut hist, at - t0);
                tally.ok += 1;
            }
            Ok(_) => {}
            Err(f) => {
                // 404: the server forgot the session (expired, restarted): open a new one.
                if f.breaks_connection() || f == Failure::Status(404) {
                    conn = None;
                }
                tally.fail(measured, &f);
            }
        }
    }
    (hist, tally)
}

/// Runs `call` and prints its report.
pub(crate) fn run(args: CallArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    let target = Target::parse(&args.url)?;
    let label = args.label.clone().unwrap_or_else(|| args.url.clone());
    let (body_prefix, body_suffix) = body_parts(args.mode, &args.tool, &args.text);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = rt.block_on(async {
        eprintln!(
            "call {label}: {} connections, {:?} warm-up, {:?} measured, {:?} mode",
            args.concurrency, args.warmup, args.duration, args.mode
        );
        let start = Instant::now() + args.warmup;
        let plan = Arc::new(Plan {
            target,
            mode: args.mode,
            tool: args.tool.clone(),
            expect: (args.tool == "echo").then(|| args.text.clone()),
            body_prefix,
            body_suffix,
            start,
            end: start + args.duration,
            budget: args.requests.map(AtomicU64::new),
        });
        let mut set = tokio::task::JoinSet::new();
        for w in 0..args.concurrency as u64 {
            set.spawn(worker(plan.clone(), w << 40));
        }
        let mut hist = summary::histogram();
        let mut tally = Tally::default();
        while let Some(done) = set.join_next().await {
            let (h, t) = done?;
            hist.add(&h)?;
            tally.ok += t.ok;
            tally.warmup_errors += t.warmup_errors;
            for (k, n) in t.errors {
                *tally.errors.entry(k).or_default() += n;
            }
        }
        // With `--requests` the run may end before `--duration`: divide by the time it took.
        let measured = match args.requests {
            Some(_) => Instant::now()
                .min(plan.end)
                .saturating_duration_since(start),
            None => args.duration,
        };
        anyhow::Ok(CallReport {
            label,
            url: args.url.clone(),
            mode: args.mode,
            tool: args.tool.clone(),
            concurrency: args.concurrency,
            warmup_s: args.warmup.as_secs_f64(),
            duration_s: args.duration.as_secs_f64(),
            requests: tally.ok,
            errors: tally.errors.values().sum(),
            error_kinds: tally.errors,
            warmup_errors: tally.warmup_errors,
            rps: tally.ok as f64 / measured.as_secs_f64(),
            latency: summary::summarize(&hist),
        })
    })?;
    crate::emit(&report, args.out.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_json_rpc_with_the_id() {
        for mode in [Mode::Session, Mode::Stateless] {
            let (p, s) = body_parts(mode, "echo", "hello");
            let mut b = p.clone();
            b.extend_from_slice(b"42");
            b.extend_from_slice(&s);
            let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
            assert_eq!(v["id"], 42);
            assert_eq!(v["method"], "tools/call");
            assert_eq!(v["params"]["name"], "echo");
            assert_eq!(v["params"]["arguments"]["text"], "hello");
            let meta = &v["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"];
            assert_eq!(
                meta.as_str(),
                (mode == Mode::Stateless).then_some(STATELESS_VERSION)
            );
        }
    }
}

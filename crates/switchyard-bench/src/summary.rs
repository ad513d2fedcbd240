//! Latency histograms (nanoseconds, HdrHistogram with three significant digits) and the
//! summary written to the JSON reports: percentiles in milliseconds plus a percentile curve
//! for the charts.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// The percentiles of the curve drawn in the latency charts (100 is left out: its place on a
/// "nines" axis is at infinity; the maximum is reported separately).
pub(crate) const CURVE: [f64; 10] = [0.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99];

/// A histogram of latencies in nanoseconds, from 1 ns to 60 s.
pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

/// Records one latency; anything past the histogram's range is saturated to its maximum.
pub(crate) fn record(h: &mut Histogram<u64>, latency: Duration) {
    let ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX).max(1);
    h.saturating_record(ns);
}

/// Latency percentiles of one run, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LatencySummary {
    /// Number of latencies recorded.
    pub(crate) count: u64,
    pub(crate) mean_ms: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p90_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) p999_ms: f64,
    pub(crate) max_ms: f64,
    /// `(percentile, milliseconds)` at each of [`CURVE`].
    pub(crate) curve: Vec<(f64, f64)>,
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// Summarizes a histogram of nanoseconds. An empty histogram gives all zeros.
pub(crate) fn summarize(h: &Histogram<u64>) -> LatencySummary {
    if h.is_empty() {
        return LatencySummary {
            count: 0,
            mean_ms: 0.0,
            p50_ms: 0.0,
            p90_ms: 0.0,
            p99_ms: 0.0,
            p999_ms: 0.0,
            max_ms: 0.0,
            curve: Vec::new(),
        };
    }
    let at = |p: f64| ms(h.value_at_percentile(p));
    LatencySummary {
        count: h.len(),
        mean_ms: h.mean() / 1e6,
        p50_ms: at(50.0),
        p90_ms: at(90.0),
        p99_ms: at(99.0),
        p999_ms: at(99.9),
        max_ms: ms(h.max()),
        curve: CURVE.iter().map(|&p| (p, at(p))).collect(),
    }
}

/// Parses a duration such as `10s`, `500ms`, `2m` or `1.5` (seconds).
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("not a duration: {s:?} (try 10s, 500ms, 2m)"))?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1e3,
        "us" => n / 1e6,
        "m" => n * 60.0,
        _ => return Err(format!("unknown unit {unit:?} in {s:?} (use ms, s or m)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{s:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= b.abs() * 0.002
    }

    #[test]
    fn percentiles_of_a_uniform_run() {
        let mut h = histogram();
        for us in 1..=1000u64 {
            record(&mut h, Duration::from_micros(us));
        }
        let s = summarize(&h);
        assert_eq!(s.count, 1000);
        assert!(close(s.p50_ms, 0.500), "p50 {}", s.p50_ms);
        assert!(close(s.p90_ms, 0.900), "p90 {}", s.p90_ms);
        assert!(close(s.p99_ms, 0.990), "p99 {}", s.p99_ms);
        assert!(close(s.p999_ms, 0.999), "p99.9 {}", s.p999_ms);
        assert!(close(s.max_ms, 1.000), "max {}", s.max_ms);
        assert!(close(s.mean_ms, 0.5005), "mean {}", s.mean_ms);
        assert_eq!(s.curve.len(), CURVE.len());
        assert!(s.curve.windows(2).all(|w| w[0].1 <= w[1].1), "curve rises");
        assert!(close(s.curve[0].1, 0.001), "p0 is the minimum");
    }

    fn with_tail(fast: u64, slow: u64) -> LatencySummary {
        let mut h = histogram();
        for _ in 0..fast {
            record(&mut h, Duration::from_micros(100));
        }
        for _ in 0..slow {
            record(&mut h, Duration::from_millis(50));
        }
        summarize(&h)
    }

    #[test]
    fn a_tail_shows_in_the_percentiles_past_it() {
        let s = with_tail(9980, 20); // 0.2% slow
        assert!(close(s.p99_ms, 0.1), "p99 {}", s.p99_ms);
        assert!(close(s.p999_ms, 50.0), "p99.9 {}", s.p999_ms);
        assert!(close(s.max_ms, 50.0), "max {}", s.max_ms);
        let s = with_tail(9995, 5); // 0.05% slow
        assert!(close(s.p999_ms, 0.1), "p99.9 {}", s.p999_ms);
        assert!(close(s.curve[9].1, 50.0), "p99.99 {}", s.curve[9].1);
    }

    #[test]
    fn empty_and_out_of_range() {
        let s = summarize(&histogram());
        assert_eq!((s.count, s.p99_ms, s.curve.len()), (0, 0.0, 0));
        let mut h = histogram();
        record(&mut h, Duration::from_secs(3600));
        record(&mut h, Duration::ZERO);
        let s = summarize(&h);
        assert_eq!(s.count, 2);
        assert!(s.max_ms >= 59_000.0 && s.max_ms <= 61_000.0, "{}", s.max_ms);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5h").is_err());
    }
}

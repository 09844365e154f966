//! The end-of-soak report: the [`Report`] model, its JSON schema, and merging reports
//! across machines. The rest has a file each: `json.rs` writes the JSON, `read.rs` reads it
//! back ([`ReportError`]), `table.rs` prints the human table, `gates.rs` holds the pass/fail
//! gates.
//!
//! # JSON schema (version 1)
//!
//! Field names are stable and snake_case; times are milliseconds as floats rounded to the
//! microsecond, rates are per second of the measured window (warm-up excluded).
//!
//! ```json
//! {
//!   "grpcstream_soak_report": 1,
//!   "config": {},
//!   "stop_reason": "duration",
//!   "sources": 1,
//!   "measured_s": 10.0,
//!   "calls": {"total": 0, "failed": 0, "per_s": 0.0, "error_rate_pct": 0.0,
//!             "errors": {"UNAVAILABLE": 3}},
//!   "messages": {"sent": 0, "received": 0, "sent_per_s": 0.0, "received_per_s": 0.0},
//!   "bytes": {"sent": 0, "received": 0, "sent_per_s": 0.0, "received_per_s": 0.0},
//!   "latency_ms": {"count": 0, "min": null, "mean": null, "p50": null, "p90": null,
//!                  "p99": null, "p999": null, "max": null},
//!   "first_reply_ms": {"count": 0, "...": "same shape as latency_ms"},
//!   "inter_arrival_ms": {"count": 0, "...": "same shape as latency_ms"},
//!   "integrity": {"lost": 0, "duplicated": 0, "reordered": 0, "corrupted": 0},
//!   "reconnects": 0,
//!   "client": {"cpu_user_s": 0.0, "cpu_system_s": 0.0, "peak_rss_bytes": 0},
//!   "histograms": {"latency": "HISTEw...", "first_reply": "...", "inter_arrival": "..."}
//! }
//! ```
//!
//! - `config`: the resolved settings of the run, so it can be reproduced; a merged report has
//!   `{"merged": [config, …]}`.
//! - `stop_reason`: `duration`, `stream-count`, `interrupted` or `merged`.
//! - `sources`: how many runs the report combines (1 for a run).
//! - `*_ms` summaries: every statistic is `null` when `count` is 0.
//! - `bytes`: message payload bytes (the `message` strings), not wire bytes.
//! - `histograms`: nanosecond HdrHistograms (1 ns ..= 1 h, 3 significant digits) in the V2
//!   encoding, base64 (standard alphabet, padded). They are the source of truth: reading a
//!   report rebuilds the measurements from them and the counters, and ignores the summaries
//!   and rates, so merging reports gives exactly the percentiles of one combined recording.

mod gates;
mod json;
mod read;
mod table;

#[cfg(test)]
mod fixtures;

use std::{fmt, time::Duration};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::stats::Stats;

pub use gates::{GateMiss, Gates};
pub use read::ReportError;

/// The `grpcstream_soak_report` value this code writes and reads.
pub const SCHEMA_VERSION: u64 = 1;

/// Why the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    Duration,
    StreamCount,
    Interrupted,
    Merged,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StopReason::Duration => "duration",
            StopReason::StreamCount => "stream-count",
            StopReason::Interrupted => "interrupted",
            StopReason::Merged => "merged",
        })
    }
}

/// What the load generator itself used, to tell a slow server from a saturated client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientUsage {
    pub cpu_user_s: f64,
    pub cpu_system_s: f64,
    /// 0 when not measured.
    pub peak_rss_bytes: u64,
}

#[derive(Debug, Clone)]
pub struct Report {
    /// The resolved settings, echoed so a run can be reproduced (the caller builds it).
    pub config: Value,
    pub stop_reason: StopReason,
    /// The measured window (warm-up excluded).
    pub measured: Duration,
    pub stats: Stats,
    pub reconnects: u64,
    pub client: ClientUsage,
    /// How many runs this report combines (1 for a run).
    pub sources: u64,
}

impl Report {
    /// Combines the reports of concurrent runs (e.g. one per machine): histograms merged
    /// exactly, counters and CPU summed, peak RSS the largest. The window is the longest one,
    /// not the sum, because the runs overlapped in time: throughput is everything received
    /// over that window.
    pub fn merge(reports: Vec<Report>) -> Result<Report, ReportError> {
        let mut reports = reports.into_iter();
        let mut merged = reports.next().ok_or(ReportError::NoReports)?;
        let mut configs = vec![std::mem::take(&mut merged.config)];
        for report in reports {
            merged.stats.merge(&report.stats);
            merged.measured = merged.measured.max(report.measured);
            merged.reconnects = merged.reconnects.saturating_add(report.reconnects);
            merged.client.cpu_user_s += report.client.cpu_user_s;
            merged.client.cpu_system_s += report.client.cpu_system_s;
            merged.client.peak_rss_bytes = merged
                .client
                .peak_rss_bytes
                .max(report.client.peak_rss_bytes);
            merged.sources = merged.sources.saturating_add(report.sources);
            configs.push(report.config);
        }
        merged.config = serde_json::json!({ "merged": configs });
        merged.stop_reason = StopReason::Merged;
        Ok(merged)
    }

    fn per_s(&self, count: u64) -> f64 {
        let secs = self.measured.as_secs_f64();
        if secs > 0.0 {
            count as f64 / secs
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::busy_report;
    use super::*;

    #[test]
    fn merge_sums_counters_over_the_longest_window() -> Result<(), Box<dyn std::error::Error>> {
        let mut a = busy_report(1);
        let mut b = busy_report(2);
        a.measured = Duration::from_secs(10);
        b.measured = Duration::from_secs(12);
        let merged = Report::merge(vec![a, b])?;
        assert_eq!(merged.stop_reason, StopReason::Merged);
        assert_eq!(merged.measured, Duration::from_secs(12));
        assert_eq!(merged.stats.calls, 300);
        assert_eq!(merged.stats.messages_received, 5_998);
        assert_eq!(merged.stats.errors["UNAVAILABLE"], 2);
        assert_eq!(merged.stats.integrity.lost, 2);
        assert_eq!((merged.reconnects, merged.sources), (3, 2));
        assert_eq!(merged.client.cpu_user_s, 3.0);
        assert_eq!(merged.client.cpu_system_s, 1.0);
        assert_eq!(merged.client.peak_rss_bytes, 2_000_000);
        assert_eq!(merged.config["merged"].as_array().map(Vec::len), Some(2));
        assert_eq!(merged.config["merged"][0]["pattern"], "bidi-sync");
        assert!((merged.received_per_s() - 5_998.0 / 12.0).abs() < 1e-9);
        Ok(())
    }

    #[test]
    fn merge_of_nothing_is_an_error() {
        assert!(matches!(
            Report::merge(Vec::new()),
            Err(ReportError::NoReports)
        ));
    }
}

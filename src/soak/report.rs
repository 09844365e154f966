//! The end-of-soak report: its JSON form (written, read back and merged across machines),
//! the human table, and the pass/fail gates.
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

use std::{
    collections::BTreeMap,
    fmt,
    io::{self, Write},
    time::Duration,
};

use base64::{engine::general_purpose::STANDARD as BASE64, Engine as _};
use bytesize::ByteSize;
use hdrhistogram::{
    serialization::{DeserializeError, Deserializer, Serializer as _, V2Serializer},
    Histogram,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::stats::{empty_histogram, Integrity, Stats};

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

/// Pass/fail thresholds; `None` = not checked.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Gates {
    /// Highest acceptable p99 of `latency`.
    pub max_p99: Option<Duration>,
    /// Highest acceptable share of failed calls, in percent.
    pub max_error_rate_pct: Option<f64>,
    /// Lowest acceptable messages received per second.
    pub min_throughput: Option<f64>,
}

/// One gate the run did not meet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GateMiss {
    /// `max-p99`, `max-error-rate` or `min-throughput`.
    pub gate: &'static str,
    pub limit: String,
    pub actual: String,
}

impl fmt::Display for GateMiss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let measure = match self.gate {
            "max-p99" => "p99",
            "max-error-rate" => "error rate",
            _ => "throughput",
        };
        write!(
            f,
            "{}: {measure} was {}, limit {}",
            self.gate, self.actual, self.limit
        )
    }
}

/// A report that cannot be read or merged. Every reading error names the JSON field, as a
/// dotted path (`histograms.latency`).
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("`{field}` is missing")]
    Missing { field: String },
    #[error("`{field}` should be {expected}")]
    WrongType {
        field: String,
        expected: &'static str,
    },
    #[error(
        "`grpcstream_soak_report` is {found}, but this grpcstream reads version {SCHEMA_VERSION}"
    )]
    UnsupportedVersion { found: String },
    #[error("`{field}` is not valid base64")]
    Base64 {
        field: String,
        #[source]
        source: base64::DecodeError,
    },
    #[error("`{field}` is not an HdrHistogram in the V2 encoding")]
    Histogram {
        field: String,
        #[source]
        source: DeserializeError,
    },
    #[error("`{field}` holds values beyond the one hour a soak histogram tracks")]
    HistogramRange { field: String },
    #[error("no reports to merge")]
    NoReports,
}

impl ReportError {
    /// The JSON field at fault, if the error is about one.
    pub fn field(&self) -> Option<&str> {
        match self {
            ReportError::Missing { field }
            | ReportError::WrongType { field, .. }
            | ReportError::Base64 { field, .. }
            | ReportError::Histogram { field, .. }
            | ReportError::HistogramRange { field } => Some(field),
            ReportError::UnsupportedVersion { .. } => Some("grpcstream_soak_report"),
            ReportError::NoReports => None,
        }
    }
}

impl Report {
    /// The report as JSON (schema in the module docs). Keys come out sorted, as
    /// `serde_json::Value` keeps them; [`Report::write_json`] keeps the schema's order.
    pub fn to_json(&self) -> Value {
        // Cannot fail: every map key in the document is a string.
        serde_json::to_value(self.document()).unwrap_or(Value::Null)
    }

    /// Rebuilds a report from its JSON: the measurements from the histograms and counters;
    /// the summaries and rates, derived from those, are not read.
    pub fn from_json(value: &Value) -> Result<Report, ReportError> {
        let version = at(value, "grpcstream_soak_report")?;
        if version.as_u64() != Some(SCHEMA_VERSION) {
            return Err(ReportError::UnsupportedVersion {
                found: version.to_string(),
            });
        }
        let mut errors = BTreeMap::new();
        let errors_value = at(value, "calls.errors")?;
        let error_counts = errors_value
            .as_object()
            .ok_or_else(|| wrong_type("calls.errors", "an object"))?;
        for (name, count) in error_counts {
            let count = count
                .as_u64()
                .ok_or_else(|| wrong_type(&format!("calls.errors.{name}"), NON_NEGATIVE))?;
            errors.insert(name.clone(), count);
        }
        let stats = Stats {
            latency: histogram_at(value, "histograms.latency")?,
            first_reply: histogram_at(value, "histograms.first_reply")?,
            inter_arrival: histogram_at(value, "histograms.inter_arrival")?,
            calls: u64_at(value, "calls.total")?,
            calls_failed: u64_at(value, "calls.failed")?,
            messages_sent: u64_at(value, "messages.sent")?,
            messages_received: u64_at(value, "messages.received")?,
            bytes_sent: u64_at(value, "bytes.sent")?,
            bytes_received: u64_at(value, "bytes.received")?,
            errors,
            integrity: Integrity {
                lost: u64_at(value, "integrity.lost")?,
                duplicated: u64_at(value, "integrity.duplicated")?,
                reordered: u64_at(value, "integrity.reordered")?,
                corrupted: u64_at(value, "integrity.corrupted")?,
            },
        };
        let measured = Duration::try_from_secs_f64(f64_at(value, "measured_s")?)
            .map_err(|_| wrong_type("measured_s", "a non-negative number of seconds"))?;
        let stop_reason = StopReason::deserialize(at(value, "stop_reason")?).map_err(|_| {
            wrong_type(
                "stop_reason",
                "one of \"duration\", \"stream-count\", \"interrupted\", \"merged\"",
            )
        })?;
        Ok(Report {
            config: at(value, "config")?.clone(),
            stop_reason,
            measured,
            stats,
            reconnects: u64_at(value, "reconnects")?,
            client: ClientUsage {
                cpu_user_s: f64_at(value, "client.cpu_user_s")?,
                cpu_system_s: f64_at(value, "client.cpu_system_s")?,
                peak_rss_bytes: u64_at(value, "client.peak_rss_bytes")?,
            },
            sources: u64_at(value, "sources")?,
        })
    }

    /// Pretty JSON in the schema's field order, with a trailing newline.
    pub fn write_json(&self, mut w: impl Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut w, &self.document())?;
        writeln!(w)
    }

    /// The human summary, one row per measure; rows with nothing to say are left out.
    pub fn write_table(&self, mut w: impl Write) -> io::Result<()> {
        let s = &self.stats;
        let secs = self.measured.as_secs_f64();
        let runs = if self.sources == 1 { "run" } else { "runs" };
        writeln!(
            w,
            "stop: {} after {secs:.2}s measured ({} {runs})",
            self.stop_reason, self.sources
        )?;
        writeln!(
            w,
            "{:<W$}{} total   {:.1}/s   failed {} ({:.2}%)",
            "calls",
            s.calls,
            self.per_s(s.calls),
            s.calls_failed,
            self.error_rate_pct()
        )?;
        writeln!(
            w,
            "{:<W$}sent {} ({:.1}/s)   received {} ({:.1}/s)",
            "messages",
            s.messages_sent,
            self.per_s(s.messages_sent),
            s.messages_received,
            self.per_s(s.messages_received)
        )?;
        let rate = |bytes: u64| ByteSize(self.per_s(bytes).round() as u64).display().si();
        writeln!(
            w,
            "{:<W$}sent {} ({}/s)   received {} ({}/s)",
            "bytes",
            ByteSize(s.bytes_sent).display().si(),
            rate(s.bytes_sent),
            ByteSize(s.bytes_received).display().si(),
            rate(s.bytes_received)
        )?;
        writeln!(w, "{:<W$}{}", "latency", percentiles(&s.latency))?;
        for (label, h) in [
            ("first reply", &s.first_reply),
            ("inter-arrival", &s.inter_arrival),
        ] {
            if !h.is_empty() {
                writeln!(w, "{label:<W$}{}", percentiles(h))?;
            }
        }
        let i = &s.integrity;
        writeln!(
            w,
            "{:<W$}lost {}  duplicated {}  reordered {}  corrupted {}",
            "integrity", i.lost, i.duplicated, i.reordered, i.corrupted
        )?;
        if !s.errors.is_empty() {
            // Most frequent first: the status that dominates is the one to look into.
            let mut errors: Vec<_> = s.errors.iter().collect();
            errors.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let errors: Vec<String> = errors.iter().map(|(n, c)| format!("{n} {c}")).collect();
            writeln!(w, "{:<W$}{}", "errors", errors.join("   "))?;
        }
        writeln!(w, "{:<W$}{}", "reconnects", self.reconnects)?;
        let c = &self.client;
        write!(
            w,
            "{:<W$}cpu {:.2}s user + {:.2}s system",
            "client", c.cpu_user_s, c.cpu_system_s
        )?;
        if secs > 0.0 {
            let share = (c.cpu_user_s + c.cpu_system_s) / secs * 100.0;
            write!(w, " ({share:.0}% of one core)")?;
        }
        if c.peak_rss_bytes > 0 {
            write!(
                w,
                "   peak RSS {}",
                ByteSize(c.peak_rss_bytes).display().iec()
            )?;
        }
        writeln!(w)
    }

    /// Every gate the run missed; empty means it passed.
    pub fn check(&self, gates: &Gates) -> Vec<GateMiss> {
        let mut misses = Vec::new();
        if let Some(limit) = gates.max_p99 {
            let h = &self.stats.latency;
            let limit_ns = u64::try_from(limit.as_nanos()).unwrap_or(u64::MAX);
            let p99 = h.value_at_quantile(0.99);
            let actual = if h.is_empty() {
                // A gate that could not be measured must not pass silently.
                Some("not measured (no latency samples)".to_owned())
            } else if p99 > limit_ns && !h.equivalent(p99, limit_ns) {
                // Within the histogram's resolution counts as met: a sample of exactly the
                // limit reads back as its bucket's upper end, a hair above it.
                Some(format_ns(p99))
            } else {
                None
            };
            if let Some(actual) = actual {
                misses.push(GateMiss {
                    gate: "max-p99",
                    limit: humantime::format_duration(limit).to_string(),
                    actual,
                });
            }
        }
        if let Some(limit) = gates.max_error_rate_pct {
            let rate = self.error_rate_pct();
            if rate > limit {
                misses.push(GateMiss {
                    gate: "max-error-rate",
                    limit: format!("{limit}%"),
                    actual: format!("{rate:.2}%"),
                });
            }
        }
        if let Some(limit) = gates.min_throughput {
            let throughput = self.received_per_s();
            if throughput < limit {
                misses.push(GateMiss {
                    gate: "min-throughput",
                    limit: format!("{limit} msg/s"),
                    actual: format!("{throughput:.1} msg/s"),
                });
            }
        }
        misses
    }

    /// Failed calls as a percentage of finished calls; 0 when no call finished.
    pub fn error_rate_pct(&self) -> f64 {
        match self.stats.calls {
            0 => 0.0,
            // Multiply first: 11 of 20 is then exactly 55%, not 55.00000000000001.
            calls => self.stats.calls_failed as f64 * 100.0 / calls as f64,
        }
    }

    /// Messages received per second of the measured window (what `min_throughput` checks).
    pub fn received_per_s(&self) -> f64 {
        self.per_s(self.stats.messages_received)
    }

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

    fn document(&self) -> Document<'_> {
        let s = &self.stats;
        let flow = |sent: u64, received: u64| Flow {
            sent,
            received,
            sent_per_s: round3(self.per_s(sent)),
            received_per_s: round3(self.per_s(received)),
        };
        Document {
            grpcstream_soak_report: SCHEMA_VERSION,
            config: &self.config,
            stop_reason: self.stop_reason,
            sources: self.sources,
            measured_s: (self.measured.as_secs_f64() * 1e6).round() / 1e6,
            calls: Calls {
                total: s.calls,
                failed: s.calls_failed,
                per_s: round3(self.per_s(s.calls)),
                error_rate_pct: round3(self.error_rate_pct()),
                errors: &s.errors,
            },
            messages: flow(s.messages_sent, s.messages_received),
            bytes: flow(s.bytes_sent, s.bytes_received),
            latency_ms: Summary::of(&s.latency),
            first_reply_ms: Summary::of(&s.first_reply),
            inter_arrival_ms: Summary::of(&s.inter_arrival),
            integrity: s.integrity,
            reconnects: self.reconnects,
            client: self.client,
            histograms: Histograms {
                latency: encode(&s.latency),
                first_reply: encode(&s.first_reply),
                inter_arrival: encode(&s.inter_arrival),
            },
        }
    }
}

/// Width of the table's label column ("inter-arrival" plus a gap).
const W: usize = 15;

const NON_NEGATIVE: &str = "a non-negative integer";

/// The JSON document, field order as documented (derive keeps declaration order).
#[derive(Serialize)]
struct Document<'a> {
    grpcstream_soak_report: u64,
    config: &'a Value,
    stop_reason: StopReason,
    sources: u64,
    measured_s: f64,
    calls: Calls<'a>,
    messages: Flow,
    bytes: Flow,
    latency_ms: Summary,
    first_reply_ms: Summary,
    inter_arrival_ms: Summary,
    integrity: Integrity,
    reconnects: u64,
    client: ClientUsage,
    histograms: Histograms,
}

#[derive(Serialize)]
struct Calls<'a> {
    total: u64,
    failed: u64,
    per_s: f64,
    error_rate_pct: f64,
    errors: &'a BTreeMap<String, u64>,
}

#[derive(Serialize)]
struct Flow {
    sent: u64,
    received: u64,
    sent_per_s: f64,
    received_per_s: f64,
}

/// Milliseconds; `None` (null) for every statistic of an empty histogram.
#[derive(Serialize)]
struct Summary {
    count: u64,
    min: Option<f64>,
    mean: Option<f64>,
    p50: Option<f64>,
    p90: Option<f64>,
    p99: Option<f64>,
    p999: Option<f64>,
    max: Option<f64>,
}

impl Summary {
    fn of(h: &Histogram<u64>) -> Summary {
        let ms = |ns: f64| (!h.is_empty()).then(|| (ns / 1e3).round() / 1e3);
        let q = |quantile: f64| ms(h.value_at_quantile(quantile) as f64);
        Summary {
            count: h.len(),
            min: ms(h.min() as f64),
            mean: ms(h.mean()),
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
            p999: q(0.999),
            max: ms(h.max() as f64),
        }
    }
}

/// Base64 of each histogram's V2 encoding; `None` (null) only if encoding failed, which
/// needs a bucket count above `i64::MAX`, and which reading back then reports by name.
#[derive(Serialize)]
struct Histograms {
    latency: Option<String>,
    first_reply: Option<String>,
    inter_arrival: Option<String>,
}

fn encode(h: &Histogram<u64>) -> Option<String> {
    let mut bytes = Vec::new();
    V2Serializer::new().serialize(h, &mut bytes).ok()?;
    Some(BASE64.encode(bytes))
}

/// Decodes into a histogram of the soak's own bounds, so later merges are bucket-exact
/// whatever bounds the writer declared.
fn histogram_at(root: &Value, path: &str) -> Result<Histogram<u64>, ReportError> {
    let text = at(root, path)?
        .as_str()
        .ok_or_else(|| wrong_type(path, "a base64 string"))?;
    let bytes = BASE64.decode(text).map_err(|source| ReportError::Base64 {
        field: path.to_owned(),
        source,
    })?;
    let decoded: Histogram<u64> = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|source| ReportError::Histogram {
            field: path.to_owned(),
            source,
        })?;
    let mut histogram = empty_histogram();
    histogram
        .add(&decoded)
        .map_err(|_| ReportError::HistogramRange {
            field: path.to_owned(),
        })?;
    Ok(histogram)
}

/// The value at a dotted path; a missing key or a non-object on the way is named.
fn at<'a>(root: &'a Value, path: &str) -> Result<&'a Value, ReportError> {
    let mut value = root;
    // Length of the prefix of `path` that led to `value`.
    let mut walked = 0;
    for key in path.split('.') {
        let Some(object) = value.as_object() else {
            let parent = path.get(..walked).filter(|p| !p.is_empty());
            return Err(wrong_type(parent.unwrap_or("(report)"), "an object"));
        };
        walked += if walked == 0 {
            key.len()
        } else {
            key.len() + 1
        };
        value = object.get(key).ok_or_else(|| ReportError::Missing {
            field: path.get(..walked).unwrap_or(path).to_owned(),
        })?;
    }
    Ok(value)
}

fn u64_at(root: &Value, path: &str) -> Result<u64, ReportError> {
    at(root, path)?
        .as_u64()
        .ok_or_else(|| wrong_type(path, NON_NEGATIVE))
}

fn f64_at(root: &Value, path: &str) -> Result<f64, ReportError> {
    at(root, path)?
        .as_f64()
        .ok_or_else(|| wrong_type(path, "a number"))
}

fn wrong_type(field: &str, expected: &'static str) -> ReportError {
    ReportError::WrongType {
        field: field.to_owned(),
        expected,
    }
}

fn round3(x: f64) -> f64 {
    (x * 1e3).round() / 1e3
}

fn percentiles(h: &Histogram<u64>) -> String {
    if h.is_empty() {
        return "no samples".to_owned();
    }
    let q = |quantile| format_ns(h.value_at_quantile(quantile));
    format!(
        "p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  ({} samples)",
        q(0.5),
        q(0.9),
        q(0.99),
        q(0.999),
        format_ns(h.max()),
        h.len()
    )
}

/// Nanoseconds as ns, µs, ms or s with 3 significant digits (`61.4µs`, `2.10ms`, `12.3s`).
fn format_ns(ns: u64) -> String {
    fn three_digits(v: f64, unit: &str) -> String {
        // Thresholds at the rounding points, so 9.996 prints as "10.0", not "10.00".
        let decimals = if v < 9.995 {
            2
        } else if v < 99.95 {
            1
        } else {
            0
        };
        format!("{v:.decimals$}{unit}")
    }
    let x = ns as f64;
    if ns < 1_000 {
        format!("{ns}ns")
    } else if x < 999_500.0 {
        three_digits(x / 1e3, "µs")
    } else if x < 999_500_000.0 {
        three_digits(x / 1e6, "ms")
    } else {
        three_digits(x / 1e9, "s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const QUANTILES: [f64; 8] = [0.0, 0.5, 0.9, 0.99, 0.999, 0.9999, 0.99999, 1.0];

    fn report_with(latencies_us: impl IntoIterator<Item = u64>) -> Report {
        let mut stats = Stats::new();
        for us in latencies_us {
            stats.record_latency(Duration::from_micros(us));
        }
        Report {
            config: json!({ "pattern": "bidi-sync", "streams": 4 }),
            stop_reason: StopReason::Duration,
            measured: Duration::from_secs(10),
            stats,
            reconnects: 0,
            client: ClientUsage::default(),
            sources: 1,
        }
    }

    fn busy_report(seed: u64) -> Report {
        let mut r = report_with((0..3_000).map(|i| 20 + (i * seed * 7_919) % 40_000));
        let s = &mut r.stats;
        for i in 0..500 {
            s.record_first_reply(Duration::from_micros(100 + i * seed));
            s.record_inter_arrival(Duration::from_millis(i % 200 + seed));
        }
        s.calls = 100 * seed;
        s.record_error("UNAVAILABLE");
        s.messages_sent = 3_000;
        s.messages_received = 2_999;
        s.bytes_sent = 60_000;
        s.bytes_received = 59_980;
        s.integrity.lost = 1;
        r.reconnects = seed;
        r.client = ClientUsage {
            cpu_user_s: 1.5,
            cpu_system_s: 0.5,
            peak_rss_bytes: seed * 1_000_000,
        };
        r
    }

    fn assert_same_distribution(a: &Histogram<u64>, b: &Histogram<u64>) {
        assert_eq!(a.len(), b.len(), "count");
        assert_eq!((a.min(), a.max()), (b.min(), b.max()), "min, max");
        for q in QUANTILES {
            assert_eq!(a.value_at_quantile(q), b.value_at_quantile(q), "q={q}");
        }
    }

    fn read_err(mutate: impl FnOnce(&mut Value)) -> ReportError {
        let mut value = busy_report(1).to_json();
        mutate(&mut value);
        match Report::from_json(&value) {
            Ok(_) => panic!("should not read"),
            Err(e) => e,
        }
    }

    #[test]
    fn json_round_trip_keeps_measurements() {
        let report = busy_report(3);
        let back = Report::from_json(&report.to_json()).unwrap();
        assert_same_distribution(&back.stats.latency, &report.stats.latency);
        assert_same_distribution(&back.stats.first_reply, &report.stats.first_reply);
        assert_same_distribution(&back.stats.inter_arrival, &report.stats.inter_arrival);
        assert_eq!(back.stats.calls, 300);
        assert_eq!(back.stats.calls_failed, 1);
        assert_eq!(back.stats.errors, report.stats.errors);
        assert_eq!(back.stats.messages_received, 2_999);
        assert_eq!(back.stats.bytes_received, 59_980);
        assert_eq!(back.stats.integrity, report.stats.integrity);
        assert_eq!(back.measured, report.measured);
        assert_eq!(back.stop_reason, StopReason::Duration);
        assert_eq!(back.client, report.client);
        assert_eq!((back.reconnects, back.sources), (3, 1));
        assert_eq!(back.config, report.config);
    }

    #[test]
    fn merge_through_json_equals_one_recording_of_both() {
        let (a, b) = (busy_report(1), busy_report(2));
        let mut both = a.stats.clone();
        both.merge(&b.stats);
        let read = |r: &Report| Report::from_json(&r.to_json()).unwrap();
        let merged = Report::merge(vec![read(&a), read(&b)]).unwrap();
        assert_same_distribution(&merged.stats.latency, &both.latency);
        assert_same_distribution(&merged.stats.first_reply, &both.first_reply);
        assert_same_distribution(&merged.stats.inter_arrival, &both.inter_arrival);
        // And again through JSON: the merged report's own file merges the same.
        let again = read(&merged);
        assert_same_distribution(&again.stats.latency, &both.latency);
        assert_eq!(again.stop_reason, StopReason::Merged);
    }

    #[test]
    fn merge_sums_counters_over_the_longest_window() {
        let mut a = busy_report(1);
        let mut b = busy_report(2);
        a.measured = Duration::from_secs(10);
        b.measured = Duration::from_secs(12);
        let merged = Report::merge(vec![a, b]).unwrap();
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
    }

    #[test]
    fn merge_of_nothing_is_an_error() {
        assert!(matches!(
            Report::merge(Vec::new()),
            Err(ReportError::NoReports)
        ));
    }

    #[test]
    fn json_has_the_documented_shape() {
        let value = busy_report(1).to_json();
        let keys = |v: &Value| -> Vec<String> {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        let top = [
            "bytes",
            "calls",
            "client",
            "config",
            "first_reply_ms",
            "grpcstream_soak_report",
            "histograms",
            "integrity",
            "inter_arrival_ms",
            "latency_ms",
            "measured_s",
            "messages",
            "reconnects",
            "sources",
            "stop_reason",
        ];
        assert_eq!(keys(&value), top);
        let summary = ["count", "max", "mean", "min", "p50", "p90", "p99", "p999"];
        for key in ["latency_ms", "first_reply_ms", "inter_arrival_ms"] {
            assert_eq!(keys(&value[key]), summary, "{key}");
        }
        let flow = ["received", "received_per_s", "sent", "sent_per_s"];
        assert_eq!(keys(&value["messages"]), flow);
        assert_eq!(keys(&value["bytes"]), flow);
        let calls = ["error_rate_pct", "errors", "failed", "per_s", "total"];
        assert_eq!(keys(&value["calls"]), calls);
        assert_eq!(value["grpcstream_soak_report"], 1);
        assert_eq!(value["stop_reason"], "duration");
        assert_eq!(value["measured_s"], 10.0);
        assert_eq!(value["calls"]["per_s"], 10.0);
        assert_eq!(value["calls"]["errors"]["UNAVAILABLE"], 1);
        assert_eq!(value["messages"]["received_per_s"], 299.9);
        assert!(value["histograms"]["latency"]
            .as_str()
            .unwrap()
            .starts_with("HIST"));
    }

    #[test]
    fn summaries_are_milliseconds_and_null_when_empty() {
        let value = report_with([1_000, 2_000]).to_json();
        let latency = &value["latency_ms"];
        assert_eq!(latency["count"], 2);
        assert_eq!(latency["min"], 1.0);
        assert_eq!(latency["p50"], 1.0);
        assert_eq!(latency["max"], 2.001, "bucket's upper end, to the µs");
        let empty = &value["first_reply_ms"];
        assert_eq!(empty["count"], 0);
        for stat in ["min", "mean", "p50", "p90", "p99", "p999", "max"] {
            assert!(empty[stat].is_null(), "{stat}: {}", empty[stat]);
        }
    }

    #[test]
    fn write_json_keeps_schema_order_and_ends_with_newline() {
        let mut out = Vec::new();
        busy_report(1).write_json(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("{\n  \"grpcstream_soak_report\": 1,\n  \"config\": {"),
            "{text}"
        );
        assert!(text.ends_with("}\n"));
        let value: Value = serde_json::from_str(&text).unwrap();
        assert!(Report::from_json(&value).is_ok());
    }

    #[test]
    fn from_json_names_a_missing_histogram() {
        let err = read_err(|v| {
            v["histograms"].as_object_mut().unwrap().remove("latency");
        });
        assert!(matches!(err, ReportError::Missing { .. }), "{err:?}");
        assert_eq!(err.field(), Some("histograms.latency"));
        assert_eq!(err.to_string(), "`histograms.latency` is missing");
    }

    #[test]
    fn from_json_names_a_field_of_the_wrong_type() {
        let err = read_err(|v| v["calls"]["total"] = json!("12"));
        assert_eq!(err.field(), Some("calls.total"));
        assert_eq!(
            err.to_string(),
            "`calls.total` should be a non-negative integer"
        );
        let err = read_err(|v| v["calls"] = json!(5));
        assert_eq!(err.to_string(), "`calls` should be an object");
        let err = read_err(|v| v["stop_reason"] = json!("bored"));
        assert_eq!(err.field(), Some("stop_reason"));
        let err = read_err(|v| v["measured_s"] = json!(-1.0));
        assert_eq!(err.field(), Some("measured_s"));
        let err = read_err(|v| v["calls"]["errors"]["UNAVAILABLE"] = json!(-1));
        assert_eq!(err.field(), Some("calls.errors.UNAVAILABLE"));
        let err = Report::from_json(&json!([1])).unwrap_err();
        assert_eq!(err.to_string(), "`(report)` should be an object");
    }

    #[test]
    fn from_json_names_bad_histogram_data() {
        let err = read_err(|v| v["histograms"]["first_reply"] = json!("not base64!"));
        assert!(matches!(err, ReportError::Base64 { .. }), "{err:?}");
        assert_eq!(err.field(), Some("histograms.first_reply"));
        let err = read_err(|v| v["histograms"]["inter_arrival"] = json!("AAAAAAAA"));
        assert!(matches!(err, ReportError::Histogram { .. }), "{err:?}");
        assert_eq!(err.field(), Some("histograms.inter_arrival"));

        // Valid V2, but wider than the one hour a soak histogram tracks.
        let mut wide = Histogram::<u64>::new_with_bounds(1, 10 * 3_600_000_000_000, 3).unwrap();
        wide.record(5 * 3_600_000_000_000).unwrap();
        let wide = encode(&wide).unwrap();
        let err = read_err(|v| v["histograms"]["latency"] = json!(wide));
        assert!(matches!(err, ReportError::HistogramRange { .. }), "{err:?}");
        assert_eq!(err.field(), Some("histograms.latency"));
    }

    #[test]
    fn from_json_rejects_other_versions() {
        let err = read_err(|v| v["grpcstream_soak_report"] = json!(2));
        assert!(
            matches!(&err, ReportError::UnsupportedVersion { found } if found == "2"),
            "{err:?}"
        );
        assert!(err.to_string().contains("`grpcstream_soak_report` is 2"));
        let err = read_err(|v| {
            v.as_object_mut().unwrap().remove("grpcstream_soak_report");
        });
        assert_eq!(err.to_string(), "`grpcstream_soak_report` is missing");
    }

    #[test]
    fn p99_gate() {
        let report = report_with((1..=1_000).map(|i| i * 10)); // p99 = 9.9ms
        let gate = |ms| Gates {
            max_p99: Some(Duration::from_millis(ms)),
            ..Gates::default()
        };
        assert!(report.check(&gate(10)).is_empty());
        let misses = report.check(&gate(5));
        assert_eq!(misses.len(), 1);
        assert_eq!(misses[0].gate, "max-p99");
        assert_eq!(misses[0].to_string(), "max-p99: p99 was 9.90ms, limit 5ms");

        // A p99 of exactly the limit meets it, despite reading back as its bucket's top.
        let exact = report_with([10_000; 100]);
        assert!(exact.check(&gate(10)).is_empty());

        let empty = report_with([]);
        let misses = empty.check(&gate(10));
        assert_eq!(misses.len(), 1, "an unmeasured p99 does not pass");
        assert!(misses[0].actual.contains("no latency samples"));
    }

    #[test]
    fn error_rate_gate() {
        let mut report = report_with([100]);
        let gate = |pct| Gates {
            max_error_rate_pct: Some(pct),
            ..Gates::default()
        };
        assert_eq!(report.error_rate_pct(), 0.0, "no calls: 0%, not NaN");
        assert!(report.check(&gate(0.0)).is_empty());

        report.stats.calls = 200;
        report.stats.record_error("UNAVAILABLE");
        report.stats.record_error("INTERNAL");
        assert_eq!(report.error_rate_pct(), 1.0);
        assert!(report.check(&gate(1.0)).is_empty());
        let misses = report.check(&gate(0.5));
        assert_eq!(misses.len(), 1);
        assert_eq!(
            misses[0].to_string(),
            "max-error-rate: error rate was 1.00%, limit 0.5%"
        );
    }

    #[test]
    fn throughput_gate() {
        let mut report = report_with([100]);
        report.stats.messages_received = 10_000; // over 10 s: 1000/s
        let gate = |min| Gates {
            min_throughput: Some(min),
            ..Gates::default()
        };
        assert!(report.check(&gate(1_000.0)).is_empty());
        let misses = report.check(&gate(1_500.0));
        assert_eq!(misses.len(), 1);
        assert_eq!(
            misses[0].to_string(),
            "min-throughput: throughput was 1000.0 msg/s, limit 1500 msg/s"
        );
        report.measured = Duration::ZERO;
        assert_eq!(
            report.check(&gate(1.0)).len(),
            1,
            "no window, no throughput"
        );
    }

    #[test]
    fn no_gates_pass_and_all_can_miss_together() {
        let mut report = report_with([50_000]);
        assert!(report.check(&Gates::default()).is_empty());
        report.stats.calls = 1;
        report.stats.record_error("UNAVAILABLE");
        let all = Gates {
            max_p99: Some(Duration::from_millis(1)),
            max_error_rate_pct: Some(0.0),
            min_throughput: Some(1.0),
        };
        let gates: Vec<_> = report.check(&all).iter().map(|m| m.gate).collect();
        assert_eq!(gates, ["max-p99", "max-error-rate", "min-throughput"]);
    }

    #[test]
    fn table_has_the_key_rows() {
        let mut report = busy_report(1);
        report.stats.record_error("DEADLINE_EXCEEDED");
        report.stats.record_error("DEADLINE_EXCEEDED");
        let mut out = Vec::new();
        report.write_table(&mut out).unwrap();
        let table = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "stop: duration after 10.00s measured (1 run)");
        let row = |label: &str| {
            lines
                .iter()
                .find(|l| l.starts_with(&format!("{label:<W$}")))
                .unwrap_or_else(|| panic!("no {label} row in\n{table}"))
                .to_string()
        };
        assert_eq!(
            row("calls"),
            format!("{:<W$}100 total   10.0/s   failed 3 (3.00%)", "calls")
        );
        assert!(row("messages").contains("sent 3000 (300.0/s)   received 2999 (299.9/s)"));
        assert!(row("bytes").contains("sent 60.0 kB (6.0 kB/s)"), "{table}");
        assert!(row("latency").contains("(3000 samples)"), "{table}");
        assert!(row("latency").contains("p99.9 "), "{table}");
        assert!(row("first reply").contains("(500 samples)"), "{table}");
        assert!(row("inter-arrival").contains("max "), "{table}");
        assert!(row("integrity").contains("lost 1  duplicated 0  reordered 0  corrupted 0"));
        assert!(
            row("errors").ends_with("DEADLINE_EXCEEDED 2   UNAVAILABLE 1"),
            "most frequent first: {table}"
        );
        assert!(row("reconnects").ends_with(" 1"));
        assert!(
            row("client").contains("cpu 1.50s user + 0.50s system (20% of one core)"),
            "{table}"
        );
        assert!(row("client").ends_with("peak RSS 976.6 KiB"), "{table}");
    }

    #[test]
    fn table_leaves_out_empty_rows() {
        let mut out = Vec::new();
        report_with([]).write_table(&mut out).unwrap();
        let table = String::from_utf8(out).unwrap();
        assert!(table.contains("latency        no samples"), "{table}");
        for absent in ["first reply", "inter-arrival", "errors", "peak RSS"] {
            assert!(!table.contains(absent), "{absent} in\n{table}");
        }
        let mut merged = Report::merge(vec![report_with([]), report_with([])]).unwrap();
        merged.measured = Duration::ZERO;
        out = Vec::new();
        merged.write_table(&mut out).unwrap();
        let table = String::from_utf8(out).unwrap();
        assert!(table.starts_with("stop: merged after 0.00s measured (2 runs)\n"));
        assert!(!table.contains("of one core"), "{table}");
    }

    #[test]
    fn durations_print_with_three_significant_digits() {
        let cases = [
            (0, "0ns"),
            (999, "999ns"),
            (1_000, "1.00µs"),
            (61_449, "61.4µs"),
            (120_000, "120µs"),
            (999_499, "999µs"),
            (999_500, "1.00ms"),
            (2_104_000, "2.10ms"),
            (12_345_678, "12.3ms"),
            (999_999_999, "1.00s"),
            (12_345_000_000, "12.3s"),
            (3_600_000_000_000, "3600s"),
        ];
        for (ns, text) in cases {
            assert_eq!(format_ns(ns), text, "{ns} ns");
        }
    }
}

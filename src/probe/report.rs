//! Probe results for people (text lines and a table) or machines (newline-delimited JSON),
//! written to any writer, and the per-pattern summary behind the exit code.

use std::{collections::BTreeMap, io::Write, time::Duration};

use hdrhistogram::Histogram;
use serde::Serialize;

use super::patterns::Check;
use crate::cli::OutputFormat;

/// One finished probe, as JSON (`"type": "probe"`).
#[derive(Debug, Serialize)]
struct ProbeLine<'a> {
    r#type: &'static str,
    pattern: &'static str,
    server: &'a str,
    ok: bool,
    sent: u32,
    received: u32,
    first_reply_ms: Option<f64>,
    duration_ms: f64,
    error: Option<String>,
}

/// The summary of a run, as JSON (`"type": "summary"`).
#[derive(Debug, Serialize)]
pub struct Summary {
    r#type: &'static str,
    pub ok: bool,
    pub patterns: Vec<PatternSummary>,
}

#[derive(Debug, Serialize)]
pub struct PatternSummary {
    pub pattern: &'static str,
    pub runs: u64,
    pub passed: u64,
    pub failed: u64,
    /// Durations of the passed probes.
    pub min_ms: Option<f64>,
    pub median_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

struct Tally {
    runs: u64,
    passed: u64,
    latency_us: Histogram<u64>,
}

pub struct Reporter<W> {
    out: W,
    format: OutputFormat,
    server: String,
    tallies: BTreeMap<&'static str, Tally>,
    /// Set once stdout is gone (`| head`): keep probing for the exit code, stop printing.
    closed: bool,
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

impl<W: Write> Reporter<W> {
    pub fn new(out: W, format: OutputFormat, server: &str) -> Self {
        Self {
            out,
            format,
            server: server.to_owned(),
            tallies: BTreeMap::new(),
            closed: false,
        }
    }

    pub fn record(&mut self, check: &Check) {
        let tally = self.tallies.entry(check.name).or_insert_with(|| Tally {
            runs: 0,
            passed: 0,
            // 1 µs to 1 hour, 3 significant digits: fixed size whatever the run length.
            latency_us: Histogram::new_with_bounds(1, 3_600_000_000, 3)
                .unwrap_or_else(|_| unreachable!("valid bounds")),
        });
        tally.runs += 1;
        if check.result.is_ok() {
            tally.passed += 1;
            let _ = tally
                .latency_us
                .record((check.elapsed.as_micros() as u64).clamp(1, 3_600_000_000));
        }
        let line = match self.format {
            OutputFormat::Json => {
                let line = ProbeLine {
                    r#type: "probe",
                    pattern: check.name,
                    server: &self.server,
                    ok: check.result.is_ok(),
                    sent: check.sent,
                    received: check.received,
                    first_reply_ms: check.first_reply.map(ms),
                    duration_ms: ms(check.elapsed),
                    error: check.result.as_ref().err().map(ToString::to_string),
                };
                serde_json::to_string(&line).unwrap_or_default()
            }
            OutputFormat::Text => {
                let verdict = match &check.result {
                    Ok(()) => "PASS".to_owned(),
                    Err(failure) => format!("FAIL ({failure})"),
                };
                format!(
                    "{} {:<13} {:>9.3}s  sent={} received={} first_reply={}",
                    &verdict[..4],
                    check.name,
                    check.elapsed.as_secs_f64(),
                    check.sent,
                    check.received,
                    check
                        .first_reply
                        .map_or("-".to_owned(), |d| format!("{:.3}s", d.as_secs_f64())),
                ) + verdict.get(4..).unwrap_or_default()
            }
        };
        self.write_line(&line);
    }

    fn write_line(&mut self, line: &str) {
        if !self.closed
            && writeln!(self.out, "{line}")
                .and_then(|()| self.out.flush())
                .is_err()
        {
            self.closed = true;
        }
    }

    /// The summary; printed as a table (`table`) or a JSON object.
    pub fn finish(mut self, table: bool) -> Summary {
        let patterns: Vec<PatternSummary> = self
            .tallies
            .iter()
            .map(|(&pattern, t)| {
                let h = &t.latency_us;
                let some = |us: u64| (!h.is_empty()).then(|| us as f64 / 1e3);
                PatternSummary {
                    pattern,
                    runs: t.runs,
                    passed: t.passed,
                    failed: t.runs - t.passed,
                    min_ms: some(h.min()),
                    median_ms: some(h.value_at_quantile(0.5)),
                    max_ms: some(h.max()),
                }
            })
            .collect();
        let summary = Summary {
            r#type: "summary",
            ok: patterns.iter().all(|p| p.failed == 0),
            patterns,
        };
        match self.format {
            OutputFormat::Json => {
                let line = serde_json::to_string(&summary).unwrap_or_default();
                self.write_line(&line);
            }
            OutputFormat::Text if table => {
                self.write_line(&format!(
                    "{:<13} {:>6} {:>6} {:>6} {:>10} {:>10} {:>10}",
                    "pattern", "runs", "passed", "failed", "min", "median", "max"
                ));
                let cell = |v: Option<f64>| v.map_or("-".to_owned(), |ms| format!("{:.1}ms", ms));
                let rows: Vec<String> = summary
                    .patterns
                    .iter()
                    .map(|p| {
                        format!(
                            "{:<13} {:>6} {:>6} {:>6} {:>10} {:>10} {:>10}",
                            p.pattern,
                            p.runs,
                            p.passed,
                            p.failed,
                            cell(p.min_ms),
                            cell(p.median_ms),
                            cell(p.max_ms)
                        )
                    })
                    .collect();
                for row in rows {
                    self.write_line(&row);
                }
            }
            OutputFormat::Text => {}
        }
        summary
    }
}

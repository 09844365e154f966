//! Pass/fail gates on a report (p99, error rate, throughput) and the two rates they check.

use std::{fmt, time::Duration};

use serde::Serialize;

use super::{table::format_ns, Report};

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

impl Report {
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
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::report_with;
    use super::*;

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
}

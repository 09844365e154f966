//! The human summary of a report: one row per measure, durations with three significant
//! digits.

use std::io::{self, Write};

use bytesize::ByteSize;
use hdrhistogram::Histogram;

use super::Report;

impl Report {
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
}

/// Width of the table's label column ("inter-arrival" plus a gap).
const W: usize = 15;

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
pub(super) fn format_ns(ns: u64) -> String {
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
    use std::time::Duration;

    use super::super::fixtures::{busy_report, report_with};
    use super::*;

    #[test]
    fn table_has_the_key_rows() -> Result<(), Box<dyn std::error::Error>> {
        let mut report = busy_report(1);
        report.stats.record_error("DEADLINE_EXCEEDED");
        report.stats.record_error("DEADLINE_EXCEEDED");
        let mut out = Vec::new();
        report.write_table(&mut out)?;
        let table = String::from_utf8(out)?;
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
        Ok(())
    }

    #[test]
    fn table_leaves_out_empty_rows() -> Result<(), Box<dyn std::error::Error>> {
        let mut out = Vec::new();
        report_with([]).write_table(&mut out)?;
        let table = String::from_utf8(out)?;
        assert!(table.contains("latency        no samples"), "{table}");
        for absent in ["first reply", "inter-arrival", "errors", "peak RSS"] {
            assert!(!table.contains(absent), "{absent} in\n{table}");
        }
        let mut merged = Report::merge(vec![report_with([]), report_with([])])?;
        merged.measured = Duration::ZERO;
        out = Vec::new();
        merged.write_table(&mut out)?;
        let table = String::from_utf8(out)?;
        assert!(table.starts_with("stop: merged after 0.00s measured (2 runs)\n"));
        assert!(!table.contains("of one core"), "{table}");
        Ok(())
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

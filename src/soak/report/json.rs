//! Writing a report as JSON in the schema of the module docs: the serialized document,
//! its summaries and rates, and each histogram's base64 V2 encoding. Reading it back is
//! `read.rs`.

use std::{
    collections::BTreeMap,
    io::{self, Write},
};

use base64::{engine::general_purpose::STANDARD as BASE64, Engine as _};
use hdrhistogram::{
    serialization::{Serializer as _, V2Serializer},
    Histogram,
};
use serde::Serialize;
use serde_json::Value;

use super::{ClientUsage, Report, StopReason, SCHEMA_VERSION};
use crate::soak::stats::Integrity;

impl Report {
    /// The report as JSON (schema in the `soak::report` module docs). Keys come out sorted, as
    /// `serde_json::Value` keeps them; [`Report::write_json`] keeps the schema's order.
    pub fn to_json(&self) -> Value {
        // Cannot fail: every map key in the document is a string.
        serde_json::to_value(self.document()).unwrap_or(Value::Null)
    }

    /// Pretty JSON in the schema's field order, with a trailing newline.
    pub fn write_json(&self, mut w: impl Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut w, &self.document())?;
        writeln!(w)
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

pub(super) fn encode(h: &Histogram<u64>) -> Option<String> {
    let mut bytes = Vec::new();
    V2Serializer::new().serialize(h, &mut bytes).ok()?;
    Some(BASE64.encode(bytes))
}

fn round3(x: f64) -> f64 {
    (x * 1e3).round() / 1e3
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{busy_report, report_with};
    use super::*;

    #[test]
    fn json_has_the_documented_shape() {
        let value = busy_report(1).to_json();
        // Not an object: no keys, and the comparison below fails.
        let keys = |v: &Value| -> Vec<String> {
            let mut k: Vec<String> = v
                .as_object()
                .into_iter()
                .flat_map(|o| o.keys().cloned())
                .collect();
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
            .is_some_and(|h| h.starts_with("HIST")));
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
    fn write_json_keeps_schema_order_and_ends_with_newline(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let mut out = Vec::new();
        busy_report(1).write_json(&mut out)?;
        let text = String::from_utf8(out)?;
        assert!(
            text.starts_with("{\n  \"grpcstream_soak_report\": 1,\n  \"config\": {"),
            "{text}"
        );
        assert!(text.ends_with("}\n"));
        let value: Value = serde_json::from_str(&text)?;
        assert!(Report::from_json(&value).is_ok());
        Ok(())
    }
}

//! Reports to test with, shared by the report's test modules.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::json;

use super::{ClientUsage, Report, StopReason};
use crate::soak::stats::Stats;

const QUANTILES: [f64; 8] = [0.0, 0.5, 0.9, 0.99, 0.999, 0.9999, 0.99999, 1.0];

pub(super) fn report_with(latencies_us: impl IntoIterator<Item = u64>) -> Report {
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

pub(super) fn busy_report(seed: u64) -> Report {
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

pub(super) fn assert_same_distribution(a: &Histogram<u64>, b: &Histogram<u64>) {
    assert_eq!(a.len(), b.len(), "count");
    assert_eq!((a.min(), a.max()), (b.min(), b.max()), "min, max");
    for q in QUANTILES {
        assert_eq!(a.value_at_quantile(q), b.value_at_quantile(q), "q={q}");
    }
}

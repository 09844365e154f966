//! What a soak measures, in a form that merges exactly: three HdrHistograms of nanoseconds,
//! call/message/byte counters, failures by gRPC status and the stream-integrity tally.
//!
//! Workers record into their own `Stats` (no locks on the hot path) and hand
//! [`Stats::take`] deltas to the collector, which [`Stats::merge`]s them.

use std::{collections::BTreeMap, time::Duration};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Smallest value a histogram tracks, in nanoseconds.
pub const LOWEST_NS: u64 = 1;
/// Largest value a histogram tracks (one hour), in nanoseconds; longer samples are clamped.
pub const HIGHEST_NS: u64 = 3_600 * 1_000_000_000;
/// Histogram precision: 3 significant digits, i.e. within 0.1% of the recorded value.
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// An empty histogram with the soak's fixed bounds. Fixed bounds (no auto-resize) keep the
/// memory constant whatever the run length and make every histogram share one bucket layout,
/// so `add` is an exact count-by-count sum.
pub fn empty_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(LOWEST_NS, HIGHEST_NS, SIGNIFICANT_DIGITS)
        .unwrap_or_else(|_| unreachable!("valid bounds"))
}

/// Mergeable measurements of a soak (or of a slice of it).
#[derive(Debug, Clone)]
pub struct Stats {
    /// Per-message round trip (bidi: send → its echo) or per-call (client-stream: half-close
    /// → summary), nanoseconds.
    pub latency: Histogram<u64>,
    /// server-stream: call start → first reply, nanoseconds.
    pub first_reply: Histogram<u64>,
    /// server-stream: gap between consecutive replies, nanoseconds.
    pub inter_arrival: Histogram<u64>,
    /// Streams finished, whether ok or failed.
    pub calls: u64,
    pub calls_failed: u64,
    pub messages_sent: u64,
    pub messages_received: u64,
    /// Message payload bytes (the lengths of the `message` strings), not wire bytes.
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Failed calls by gRPC status name ("UNAVAILABLE", "DEADLINE_EXCEEDED", …).
    pub errors: BTreeMap<String, u64>,
    pub integrity: Integrity,
}

/// Replies that did not match what was sent, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Integrity {
    pub lost: u64,
    pub duplicated: u64,
    pub reordered: u64,
    pub corrupted: u64,
}

impl Integrity {
    pub fn is_clean(&self) -> bool {
        *self == Integrity::default()
    }

    /// Saturating: merged reports come from files, and a sum must not panic on them.
    pub fn add(&mut self, other: &Integrity) {
        self.lost = self.lost.saturating_add(other.lost);
        self.duplicated = self.duplicated.saturating_add(other.duplicated);
        self.reordered = self.reordered.saturating_add(other.reordered);
        self.corrupted = self.corrupted.saturating_add(other.corrupted);
    }
}

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}

impl Stats {
    /// Empty stats; each histogram spans 1 ns ..= 1 hour at 3 significant digits.
    pub fn new() -> Self {
        Self::with_histograms(empty_histogram(), empty_histogram(), empty_histogram())
    }

    fn with_histograms(
        latency: Histogram<u64>,
        first_reply: Histogram<u64>,
        inter_arrival: Histogram<u64>,
    ) -> Self {
        Self {
            latency,
            first_reply,
            inter_arrival,
            calls: 0,
            calls_failed: 0,
            messages_sent: 0,
            messages_received: 0,
            bytes_sent: 0,
            bytes_received: 0,
            errors: BTreeMap::new(),
            integrity: Integrity::default(),
        }
    }

    pub fn record_latency(&mut self, d: Duration) {
        self.record_latencies(d, 1);
    }

    /// `count` calls of the same latency `d`.
    pub fn record_latencies(&mut self, d: Duration, count: u64) {
        record(&mut self.latency, d, count);
    }

    pub fn record_first_reply(&mut self, d: Duration) {
        record(&mut self.first_reply, d, 1);
    }

    pub fn record_inter_arrival(&mut self, d: Duration) {
        record(&mut self.inter_arrival, d, 1);
    }

    /// Counts one failed call under its status name. `calls` is left to the caller, which
    /// counts every finished call, failed or not.
    pub fn record_error(&mut self, status_name: &str) {
        self.calls_failed += 1;
        // Look up before inserting: the name is allocated once per status, not per failure.
        match self.errors.get_mut(status_name) {
            Some(count) => *count += 1,
            None => {
                self.errors.insert(status_name.to_owned(), 1);
            }
        }
    }

    /// Adds `other` in: histogram counts bucket by bucket, counters summed (saturating).
    pub fn merge(&mut self, other: &Stats) {
        add_histogram(&mut self.latency, &other.latency);
        add_histogram(&mut self.first_reply, &other.first_reply);
        add_histogram(&mut self.inter_arrival, &other.inter_arrival);
        self.calls = self.calls.saturating_add(other.calls);
        self.calls_failed = self.calls_failed.saturating_add(other.calls_failed);
        self.messages_sent = self.messages_sent.saturating_add(other.messages_sent);
        self.messages_received = self
            .messages_received
            .saturating_add(other.messages_received);
        self.bytes_sent = self.bytes_sent.saturating_add(other.bytes_sent);
        self.bytes_received = self.bytes_received.saturating_add(other.bytes_received);
        for (name, count) in &other.errors {
            let total = self.errors.entry(name.clone()).or_default();
            *total = total.saturating_add(*count);
        }
        self.integrity.add(&other.integrity);
    }

    /// Returns everything recorded so far and leaves `self` empty, for per-interval deltas.
    ///
    /// The accumulated histograms are moved out, not copied; `self` gets fresh ones of the same
    /// configuration (one zeroed allocation each, which a clone + reset would also need, plus a
    /// copy of every count).
    pub fn take(&mut self) -> Stats {
        let latency = take_histogram(&mut self.latency);
        let first_reply = take_histogram(&mut self.first_reply);
        let inter_arrival = take_histogram(&mut self.inter_arrival);
        // `self` now holds the fresh histograms: keep those, hand everything else over.
        let kept = Self::with_histograms(
            std::mem::replace(&mut self.latency, latency),
            std::mem::replace(&mut self.first_reply, first_reply),
            std::mem::replace(&mut self.inter_arrival, inter_arrival),
        );
        std::mem::replace(self, kept)
    }

    /// Nothing recorded: no samples, counts, errors or integrity faults.
    pub fn is_empty(&self) -> bool {
        self.latency.is_empty()
            && self.first_reply.is_empty()
            && self.inter_arrival.is_empty()
            && self.calls == 0
            && self.calls_failed == 0
            && self.messages_sent == 0
            && self.messages_received == 0
            && self.bytes_sent == 0
            && self.bytes_received == 0
            && self.errors.is_empty()
            && self.integrity.is_clean()
    }
}

/// The hot path: clamp, then one bucket increment; no allocation, no error to handle.
#[inline]
fn record(histogram: &mut Histogram<u64>, d: Duration, count: u64) {
    let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    histogram.saturating_record_n(ns.clamp(LOWEST_NS, HIGHEST_NS), count);
}

/// Exact when both share a configuration (always, for histograms made here or read back by
/// the report). A foreign histogram holding values beyond `into`'s range cannot be added
/// as a whole, so its values are then recorded one bucket at a time, clamped, rather than
/// dropped or panicking.
/// The recorded histogram, leaving a fresh one of the same configuration in its place. An
/// empty one stays where it is and the delta gets a tiny empty stand-in: allocating and
/// zeroing a full histogram every second for nothing showed in profiles.
fn take_histogram(h: &mut Histogram<u64>) -> Histogram<u64> {
    if h.is_empty() {
        return empty_placeholder();
    }
    let fresh = Histogram::new_from(h);
    std::mem::replace(h, fresh)
}

/// An empty histogram that costs almost nothing; merging skips empty histograms.
fn empty_placeholder() -> Histogram<u64> {
    Histogram::new(1).unwrap_or_else(|_| empty_histogram())
}

fn add_histogram(into: &mut Histogram<u64>, other: &Histogram<u64>) {
    // Most deltas leave some histograms empty (first-reply outside server-stream).
    if other.is_empty() {
        return;
    }
    if into.add(other).is_err() {
        for bucket in other.iter_recorded() {
            into.saturating_record_n(bucket.value_iterated_to(), bucket.count_at_value());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUANTILES: [f64; 9] = [0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 0.99999, 1.0];

    /// Deterministic spread over µs..s (a cheap LCG; no rand dependency for tests).
    fn samples(seed: u64, n: usize) -> Vec<Duration> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                Duration::from_nanos(1_000 + (x >> 33) % 2_000_000_000)
            })
            .collect()
    }

    fn assert_same_distribution(a: &Histogram<u64>, b: &Histogram<u64>) {
        assert_eq!(a.len(), b.len(), "count");
        assert_eq!(a.min(), b.min(), "min");
        assert_eq!(a.max(), b.max(), "max");
        assert_eq!(a.mean(), b.mean(), "mean");
        for q in QUANTILES {
            assert_eq!(a.value_at_quantile(q), b.value_at_quantile(q), "q={q}");
        }
    }

    #[test]
    fn merge_equals_one_recording_of_both() {
        let (xs, ys) = (samples(1, 5_000), samples(2, 7_000));
        let mut a = Stats::new();
        let mut b = Stats::new();
        let mut both = Stats::new();
        for d in &xs {
            a.record_latency(*d);
            a.record_first_reply(*d / 2);
            both.record_latency(*d);
            both.record_first_reply(*d / 2);
        }
        for d in &ys {
            b.record_latency(*d);
            b.record_inter_arrival(*d);
            both.record_latency(*d);
            both.record_inter_arrival(*d);
        }
        a.calls = 3;
        a.messages_sent = 10;
        a.record_error("UNAVAILABLE");
        b.calls = 4;
        b.messages_sent = 5;
        b.record_error("UNAVAILABLE");
        b.record_error("DEADLINE_EXCEEDED");
        b.integrity.lost = 2;

        a.merge(&b);
        assert_same_distribution(&a.latency, &both.latency);
        assert_same_distribution(&a.first_reply, &both.first_reply);
        assert_same_distribution(&a.inter_arrival, &both.inter_arrival);
        assert_eq!(a.calls, 7);
        assert_eq!(a.calls_failed, 3);
        assert_eq!(a.messages_sent, 15);
        assert_eq!(a.errors["UNAVAILABLE"], 2);
        assert_eq!(a.errors["DEADLINE_EXCEEDED"], 1);
        assert_eq!(a.integrity.lost, 2);
    }

    #[test]
    fn take_returns_everything_and_resets() {
        let mut s = Stats::new();
        assert!(s.is_empty());
        s.record_latency(Duration::from_millis(3));
        s.record_error("INTERNAL");
        s.calls = 1;
        s.bytes_received = 42;
        s.integrity.corrupted = 1;
        assert!(!s.is_empty());

        let taken = s.take();
        assert!(s.is_empty(), "self is reset: {s:?}");
        assert_eq!(s.latency.high(), HIGHEST_NS, "same configuration kept");
        assert_eq!(taken.latency.len(), 1);
        assert_eq!(taken.calls, 1);
        assert_eq!(taken.calls_failed, 1);
        assert_eq!(taken.bytes_received, 42);
        assert_eq!(taken.errors["INTERNAL"], 1);
        assert_eq!(taken.integrity.corrupted, 1);

        // Recording goes on after a take, into the fresh histograms.
        s.record_latency(Duration::from_millis(5));
        assert_eq!(s.latency.len(), 1);
        assert_eq!(taken.latency.len(), 1);
    }

    #[test]
    fn out_of_range_samples_are_clamped() {
        let mut s = Stats::new();
        s.record_latency(Duration::ZERO);
        s.record_latency(Duration::from_secs(7_200));
        s.record_latency(Duration::MAX);
        s.record_first_reply(Duration::MAX);
        s.record_inter_arrival(Duration::ZERO);
        assert_eq!(s.latency.len(), 3);
        assert_eq!(s.latency.min(), LOWEST_NS);
        assert!(s.latency.equivalent(s.latency.max(), HIGHEST_NS));
        assert!(s.first_reply.equivalent(s.first_reply.max(), HIGHEST_NS));
        assert_eq!(s.inter_arrival.min(), LOWEST_NS);
    }

    #[test]
    fn merge_clamps_a_foreign_wider_histogram() -> Result<(), Box<dyn std::error::Error>> {
        let mut wide = Histogram::<u64>::new_with_bounds(1, HIGHEST_NS * 10, 3)?;
        wide.record(HIGHEST_NS * 5)?;
        wide.record(1_000)?;
        let mut s = Stats::new();
        let mut other = Stats::new();
        other.latency = wide;
        s.merge(&other);
        assert_eq!(s.latency.len(), 2);
        assert!(s.latency.equivalent(s.latency.max(), HIGHEST_NS));
        Ok(())
    }

    #[test]
    fn integrity_add_and_is_clean() {
        let mut a = Integrity::default();
        assert!(a.is_clean());
        let b = Integrity {
            lost: 1,
            duplicated: 2,
            reordered: 3,
            corrupted: 4,
        };
        a.add(&b);
        a.add(&b);
        assert!(!a.is_clean());
        assert_eq!(
            a,
            Integrity {
                lost: 2,
                duplicated: 4,
                reordered: 6,
                corrupted: 8
            }
        );
        let mut full = Integrity {
            lost: u64::MAX,
            ..Integrity::default()
        };
        full.add(&b);
        assert_eq!(full.lost, u64::MAX, "saturates");
    }
}

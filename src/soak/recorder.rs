//! Where workers put their measurements: a few shared, sharded `Stats` (each holds full
//! HDR histograms, ~800 KB) instead of one per worker, which at 10,000 streams cost 8 GB.
//! A worker buffers its samples locally and moves them into its shard under the lock every
//! few hundred samples, at the end of each stream, and about once a second.

use std::{
    sync::{Mutex, MutexGuard},
    time::Duration,
};

use super::stats::{Integrity, Stats};

/// Samples a worker keeps before taking its shard's lock.
const LOCAL_SAMPLES: usize = 256;

/// The shards the collector reads and the workers fill.
pub struct Shards(Vec<Mutex<Stats>>);

impl Shards {
    pub fn new(count: usize) -> Self {
        Self(
            (0..count.max(1))
                .map(|_| Mutex::new(Stats::new()))
                .collect(),
        )
    }

    fn lock(&self, shard: usize) -> MutexGuard<'_, Stats> {
        // A worker that panicked mid-merge leaves counts that are still counts.
        self.0[shard % self.0.len()]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Everything recorded since the last call, merged.
    pub fn take(&self) -> Stats {
        let mut all = Stats::new();
        for shard in 0..self.0.len() {
            let delta = self.lock(shard).take();
            all.merge(&delta);
        }
        all
    }
}

/// One worker's measurements since it last moved them into its shard.
#[derive(Debug, Default)]
pub struct Local {
    /// Runs of equal latencies, (ns, count): the echoes of one frame share an arrival
    /// reading and messages sent back to back a send reading, so runs are common and each
    /// costs one histogram update.
    latency: Vec<(u64, u64)>,
    first_reply: Vec<u64>,
    inter_arrival: Vec<u64>,
    errors: Vec<&'static str>,
    pub calls: u64,
    pub messages_sent: u64,
    pub messages_received: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub integrity: Integrity,
}

impl Local {
    pub fn record_latency(&mut self, d: Duration) {
        let ns = d.as_nanos() as u64;
        match self.latency.last_mut() {
            Some((last, count)) if *last == ns => *count += 1,
            _ => self.latency.push((ns, 1)),
        }
    }

    pub fn record_first_reply(&mut self, d: Duration) {
        self.first_reply.push(d.as_nanos() as u64);
    }

    pub fn record_inter_arrival(&mut self, d: Duration) {
        self.inter_arrival.push(d.as_nanos() as u64);
    }

    pub fn record_error(&mut self, status: &'static str) {
        self.errors.push(status);
    }

    /// Enough samples buffered that they should move to the shard.
    pub fn is_full(&self) -> bool {
        self.latency.len() + self.first_reply.len() + self.inter_arrival.len() >= LOCAL_SAMPLES
    }

    /// Moves everything into `shard` of `shards`, keeping the buffers' capacity.
    pub fn flush(&mut self, shards: &Shards, shard: usize) {
        let mut stats = shards.lock(shard);
        let ns = Duration::from_nanos;
        self.latency
            .drain(..)
            .for_each(|(v, count)| stats.record_latencies(ns(v), count));
        self.first_reply
            .drain(..)
            .for_each(|v| stats.record_first_reply(ns(v)));
        self.inter_arrival
            .drain(..)
            .for_each(|v| stats.record_inter_arrival(ns(v)));
        self.errors
            .drain(..)
            .for_each(|name| stats.record_error(name));
        stats.calls += std::mem::take(&mut self.calls);
        stats.messages_sent += std::mem::take(&mut self.messages_sent);
        stats.messages_received += std::mem::take(&mut self.messages_received);
        stats.bytes_sent += std::mem::take(&mut self.bytes_sent);
        stats.bytes_received += std::mem::take(&mut self.bytes_received);
        stats.integrity.add(&std::mem::take(&mut self.integrity));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flushed_locals_add_up_in_the_shards() {
        let shards = Shards::new(3);
        for worker in 0..5 {
            let mut local = Local::default();
            local.record_latency(Duration::from_micros(10 + worker));
            local.record_error("UNAVAILABLE");
            local.calls = 2;
            local.messages_received = 7;
            local.integrity.lost = 1;
            local.flush(&shards, worker as usize);
            assert_eq!(local.calls, 0, "moved, not copied");
        }
        let all = shards.take();
        assert_eq!(
            (
                all.calls,
                all.calls_failed,
                all.messages_received,
                all.integrity.lost
            ),
            (10, 5, 35, 5)
        );
        assert_eq!(all.latency.len(), 5);
        assert_eq!(all.errors.get("UNAVAILABLE"), Some(&5));
        assert!(shards.take().is_empty(), "take empties the shards");
    }

    #[test]
    fn equal_latencies_in_a_row_are_counted_once_each() {
        let shards = Shards::new(1);
        let mut local = Local::default();
        for us in [5, 5, 5, 7, 5, 5] {
            local.record_latency(Duration::from_micros(us));
        }
        assert_eq!(local.latency, [(5_000, 3), (7_000, 1), (5_000, 2)]);
        local.flush(&shards, 0);
        let all = shards.take();
        assert_eq!(all.latency.len(), 6);
        assert_eq!(all.latency.count_at(5_000), 5);
        assert_eq!(all.latency.count_at(7_000), 1);
    }
}

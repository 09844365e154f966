//! Gives memory back to the system after a load peak. glibc's malloc keeps the pages of
//! freed allocations, scattered through its heaps, for later reuse: after 10,000 streams
//! close, a server would otherwise stay at its peak RSS for good. When the number of
//! running RPCs has fallen well below its recent peak, `malloc_trim` returns the free pages
//! (src/allocator.rs).

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::{allocator, interceptor::TimingLayer};

/// How often the peak and the RPC count are read.
const CHECK_EVERY: Duration = Duration::from_secs(2);
/// Trim only after at least this many RPCs ended since the peak: small dips are reused
/// by the allocator anyway, and a trim walks the whole heap.
const MIN_DROP: usize = 256;

/// Watches the server's running RPCs until `stop`, trimming after each large drop.
pub async fn give_back_after_peaks(timing: TimingLayer, stop: CancellationToken) {
    let mut peak = 0;
    let mut ticks = tokio::time::interval(CHECK_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        peak = peak.max(timing.take_peak_in_flight());
        let now = timing.in_flight();
        if should_trim(peak, now) {
            // The trim holds the allocator's locks while it walks the heaps: off the workers.
            let released = tokio::task::spawn_blocking(allocator::give_back)
                .await
                .unwrap_or(false);
            debug!(peak, now, released, "returned free memory to the system");
            peak = now;
        }
    }
}

/// A drop to half the peak or less, by at least `MIN_DROP` RPCs.
fn should_trim(peak: usize, now: usize) -> bool {
    peak - now >= MIN_DROP && now <= peak / 2
}

#[cfg(test)]
mod tests {
    use super::should_trim;

    #[test]
    fn trims_only_after_a_large_drop() {
        assert!(should_trim(10_000, 0));
        assert!(should_trim(512, 256));
        assert!(!should_trim(512, 257), "above half the peak");
        assert!(!should_trim(300, 100), "fewer than 256 ended");
        assert!(!should_trim(0, 0));
    }
}

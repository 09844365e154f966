//! The collector: gathers the workers' measurements from the shards and shows progress once
//! a second, on a
//! terminal as one line rewritten in place, elsewhere as plain lines.

use std::{
    io::{self, IsTerminal, Write},
    sync::Arc,
    time::{Duration, Instant},
};

use tokio_util::sync::CancellationToken;

use super::{stats::Stats, worker::Shared};

/// Gathers the shards once a second until `finished`, then once more; returns the total.
pub async fn collect(
    shared: Arc<Shared>,
    finished: CancellationToken,
    measure_from: Instant,
    planned: Option<Duration>,
) -> Stats {
    let mut total = Stats::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let tty = io::stderr().is_terminal();
    let mut last = Instant::now();
    loop {
        let done = tokio::select! {
            _ = finished.cancelled() => true,
            _ = tick.tick() => false,
        };
        let second = shared.shards.take();
        total.merge(&second);
        if done {
            break;
        }
        let line = progress_line(&second, last.elapsed(), &total, measure_from, planned);
        let _ = if tty {
            write!(io::stderr(), "\r\x1b[2K{line}")
        } else {
            writeln!(io::stderr(), "{line}")
        };
        last = Instant::now();
    }
    if tty {
        let _ = writeln!(io::stderr());
    }
    total
}

fn progress_line(
    second: &Stats,
    window: Duration,
    total: &Stats,
    measure_from: Instant,
    planned: Option<Duration>,
) -> String {
    let now = Instant::now();
    let phase = if now < measure_from {
        format!("warm-up {:.0}s left", (measure_from - now).as_secs_f64())
    } else {
        let elapsed = now - measure_from;
        match planned {
            Some(planned) => format!(
                "{:.0}s/{:.0}s",
                elapsed.as_secs_f64(),
                planned.as_secs_f64()
            ),
            None => format!("{:.0}s", elapsed.as_secs_f64()),
        }
    };
    // Replies, not messages sent: a stream's sends are counted when it ends, so on long-lived
    // streams a per-second send rate would read 0 and then jump. Replies are counted as they
    // arrive (for client-stream, one summary per call).
    let rate = second.messages_received as f64 / window.as_secs_f64().max(1e-3);
    let p99 = (!second.latency.is_empty())
        .then(|| Duration::from_nanos(second.latency.value_at_quantile(0.99)));
    format!(
        "[{phase}] {rate:.0} replies/s  p99 {}  calls {}  errors {}  integrity errors {}",
        p99.map_or("-".to_owned(), |d| format!("{d:.1?}")),
        total.calls,
        total.calls_failed,
        total.integrity.lost
            + total.integrity.duplicated
            + total.integrity.reordered
            + total.integrity.corrupted,
    )
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::progress_line;
    use crate::soak::stats::Stats;

    #[test]
    fn the_line_counts_replies_per_second_and_totals_so_far() {
        let mut second = Stats::new();
        second.messages_received = 1_500;
        second.record_latency(Duration::from_millis(2));
        let mut total = Stats::new();
        total.calls = 42;
        total.calls_failed = 3;
        total.integrity.lost = 2;
        total.integrity.corrupted = 1;
        let measure_from = Instant::now() - Duration::from_secs(4);
        let line = progress_line(
            &second,
            Duration::from_millis(500),
            &total,
            measure_from,
            Some(Duration::from_secs(10)),
        );
        assert!(
            line.starts_with("[4s/10s] 3000 replies/s  p99 2.0"),
            "{line}"
        );
        assert!(
            line.ends_with("calls 42  errors 3  integrity errors 3"),
            "{line}"
        );
        let warming = progress_line(
            &Stats::new(),
            Duration::from_secs(1),
            &Stats::new(),
            Instant::now() + Duration::from_secs(3),
            None,
        );
        assert!(
            warming.starts_with("[warm-up 3s left] 0 replies/s  p99 -"),
            "{warming}"
        );
    }
}

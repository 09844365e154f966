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
    let rate = second.messages_received as f64 / window.as_secs_f64().max(1e-3);
    let p99 = (!second.latency.is_empty())
        .then(|| Duration::from_nanos(second.latency.value_at_quantile(0.99)));
    format!(
        "[{phase}] {rate:.0} msgs/s  p99 {}  calls {}  errors {}  integrity errors {}",
        p99.map_or("-".to_owned(), |d| format!("{d:.1?}")),
        total.calls,
        total.calls_failed,
        total.integrity.lost
            + total.integrity.duplicated
            + total.integrity.reordered
            + total.integrity.corrupted,
    )
}

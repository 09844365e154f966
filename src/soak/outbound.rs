//! A soak stream's outgoing messages: stamped for the integrity check, produced when tonic
//! asks for the next one (closed loop) or at their scheduled times (open loop, `--rate`),
//! and with `--in-flight`, only while fewer than that many await their echo.

use std::{
    future::Future as _,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    task::{ready, Context, Poll},
    time::Duration,
};

use quanta::Instant;
use tokio::sync::Semaphore;
use tokio_stream::Stream;
use tokio_util::sync::PollSemaphore;

use super::{
    integrity::{self, Stamp},
    wire::Stamped,
    worker::Shared,
};
use crate::{config::StreamLength, stop::Stop};

/// The request stream: stamped messages, produced when tonic asks for the next one (so
/// HTTP/2 flow control paces a closed-loop stream), or at their scheduled times.
pub struct Outbound {
    stream: u64,
    next_seq: u64,
    limit: Option<u64>,
    until: Option<Instant>,
    size: usize,
    epoch: Instant,
    stop: Stop,
    measure_from: Instant,
    sent: Arc<Sent>,
    pace: Option<Pace>,
    window: Option<Window>,
    clock: BurstClock,
}

/// What a stream has sent: everything (the integrity check needs it) and, for the report,
/// what was sent once the warm-up was over.
#[derive(Debug, Default)]
pub struct Sent {
    pub total: AtomicU64,
    pub measured: AtomicU64,
    pub measured_bytes: AtomicU64,
}

impl Sent {
    /// Counts one message, and its bytes when it was sent after the warm-up. The stream's
    /// one `Outbound` is the only writer: a load and a store, not a locked
    /// read-modify-write, three times per message.
    fn count(&self, measured_bytes: Option<u64>) {
        let add = |counter: &AtomicU64, n: u64| {
            counter.store(counter.load(Ordering::Relaxed) + n, Ordering::Relaxed);
        };
        add(&self.total, 1);
        if let Some(bytes) = measured_bytes {
            add(&self.measured, 1);
            add(&self.measured_bytes, bytes);
        }
    }
}

/// `--in-flight`: one permit per message awaiting its echo; the reply reader returns them.
struct Window {
    slots: PollSemaphore,
    /// A permit is held for the next message (taken while it may still wait for its pace).
    granted: bool,
}

struct Pace {
    interval: Duration,
    next: Instant,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl Outbound {
    pub fn new(shared: &Shared, stream: u64, sent: Arc<Sent>) -> Self {
        let now = Instant::now();
        let (limit, until) = match shared.length {
            StreamLength::Messages(k) => (Some(u64::from(k)), None),
            StreamLength::Lasting(d) => (None, Some(now + d)),
        };
        Self {
            stream,
            next_seq: 0,
            limit,
            until,
            size: shared.message_size,
            epoch: shared.epoch,
            stop: shared.stop.clone(),
            measure_from: shared.measure_from,
            sent,
            pace: shared.stream_rate.map(|rate| Pace {
                interval: Duration::from_secs_f64(1.0 / rate),
                next: now,
                sleep: Box::pin(tokio::time::sleep(Duration::ZERO)),
            }),
            window: None,
            clock: BurstClock::default(),
        }
    }

    /// Sends only while `slots` has permits; the reader adds one back per echo.
    pub fn with_window(mut self, slots: Option<Arc<Semaphore>>) -> Self {
        self.window = slots.map(|slots| Window {
            slots: PollSemaphore::new(slots),
            granted: false,
        });
        self
    }

    /// The flag the request body sets at each of its polls: a new poll, a new clock reading.
    pub fn polls(&self) -> Arc<AtomicBool> {
        self.clock.polled.clone()
    }

    pub fn with_limit(mut self, limit: u64) -> Self {
        self.limit = Some(limit);
        self.pace = None;
        self
    }

    /// The next message stamped with `sent_at`, or `None` when the stream is done.
    pub fn next_message(&mut self, sent_at: Instant) -> Option<Stamped> {
        let done = self.limit.is_some_and(|limit| self.next_seq >= limit)
            || self.until.is_some_and(|until| Instant::now() >= until)
            || self.stop.is_given();
        if done {
            return None;
        }
        let stamp = Stamp {
            stream: self.stream,
            seq: self.next_seq,
            sent_ns: sent_at.saturating_duration_since(self.epoch).as_nanos() as u64,
        };
        self.next_seq += 1;
        // Counted before it leaves, so its echo can never arrive "before" it was sent.
        self.sent.count(
            (sent_at >= self.measure_from).then(|| integrity::encoded_len(stamp, self.size) as u64),
        );
        // Written into the send buffer by the codec (wire.rs), with no String of its own.
        Some(Stamped {
            stamp,
            size: self.size,
        })
    }
}

impl Stream for Outbound {
    type Item = Stamped;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Stamped>> {
        let this = self.get_mut();
        if let Some(window) = this.window.as_mut().filter(|w| !w.granted) {
            match ready!(window.slots.poll_acquire(cx)) {
                Some(permit) => {
                    permit.forget();
                    window.granted = true;
                }
                None => return Poll::Ready(None),
            }
        }
        let next = ready!(this.poll_paced(cx));
        if let Some(window) = this.window.as_mut() {
            window.granted = false;
        }
        Poll::Ready(next)
    }
}

impl Outbound {
    fn poll_paced(&mut self, cx: &mut Context<'_>) -> Poll<Option<Stamped>> {
        let this = self;
        let Some(pace) = this.pace.as_mut() else {
            // With --in-flight each message waited for a slot: its own reading.
            let now = match this.window {
                Some(_) => Instant::now(),
                None => this.clock.now(),
            };
            return Poll::Ready(this.next_message(now));
        };
        if pace.sleep.as_mut().poll(cx).is_pending() {
            // Waiting for the slot: a stop must still end the stream promptly.
            let stopped = std::pin::pin!(this.stop.given()).poll(cx).is_ready();
            return if stopped {
                Poll::Ready(None)
            } else {
                Poll::Pending
            };
        }
        // Stamped with the intended time: a stalled server shows up as latency instead of
        // hiding behind fewer sends (coordinated omission).
        let intended = pace.next;
        pace.next += pace.interval;
        // tokio's timer runs on the system clock: wait for the same distance on it.
        let wait = pace.next.saturating_duration_since(Instant::now());
        pace.sleep
            .as_mut()
            .reset(tokio::time::Instant::now() + wait);
        Poll::Ready(this.next_message(intended))
    }
}

/// Messages produced back to back (no pacing, no window: tonic takes them in one poll of the
/// request body and they leave in the same write) share a clock reading, taken again every
/// `SHARED_READING` messages and at every poll of the body, so a message never carries a
/// reading from before a pause (HTTP/2 flow control). A reading per message was 4% of soak's
/// CPU.
const SHARED_READING: u32 = 8;

#[derive(Default)]
struct BurstClock {
    reading: Option<Instant>,
    used: u32,
    /// Set by the request body at each of its polls (request_body.rs, call.rs).
    polled: Arc<AtomicBool>,
}

impl BurstClock {
    fn now(&mut self) -> Instant {
        let polled = self.polled.load(Ordering::Relaxed);
        match self.reading {
            Some(at) if self.used < SHARED_READING && !polled => {
                self.used += 1;
                at
            }
            _ => {
                if polled {
                    self.polled.store(false, Ordering::Relaxed);
                }
                let at = Instant::now();
                self.reading = Some(at);
                self.used = 1;
                at
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{sync::atomic::Ordering, time::Duration};

    use super::{BurstClock, SHARED_READING};

    #[test]
    fn back_to_back_messages_share_a_reading_and_the_next_group_reads_again() {
        let (clock, mock) = quanta::Clock::mock();
        quanta::with_clock(&clock, || {
            let mut burst = BurstClock::default();
            let mut readings = Vec::new();
            for _ in 0..2 * SHARED_READING + 1 {
                readings.push(burst.now());
                mock.increment(Duration::from_micros(1));
            }
            let n = SHARED_READING as usize;
            let start = readings[0];
            let offsets: Vec<_> = readings.iter().map(|r| r.duration_since(start)).collect();
            assert!(offsets[..n].iter().all(|d| d.is_zero()));
            assert!(offsets[n..2 * n]
                .iter()
                .all(|d| *d == Duration::from_micros(n as u64)));
            assert_eq!(offsets[2 * n], Duration::from_micros(2 * n as u64));
        });
    }

    #[test]
    fn a_new_poll_of_the_body_reads_the_clock_again() {
        let (clock, mock) = quanta::Clock::mock();
        quanta::with_clock(&clock, || {
            let mut burst = BurstClock::default();
            let first = burst.now();
            mock.increment(Duration::from_millis(5));
            assert_eq!(burst.now(), first, "same poll: shared");
            burst.polled.store(true, Ordering::Relaxed);
            assert_eq!(burst.now().duration_since(first), Duration::from_millis(5));
            assert!(!burst.polled.load(Ordering::Relaxed), "taken");
        });
    }
}

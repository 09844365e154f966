//! When each reply arrived, for its latency. Replies come in batches (a DATA frame holds many),
//! and quanta's clock costs about 10 ns a read, one of the two clock reads per message: a reply
//! whose wait was ready at once came in with the one before it and shares its reading.

use std::{future::Future, pin::pin};

use quanta::Instant;

/// Readings shared at most this many times in a row. On one thread nothing can arrive while
/// the replies already buffered are handled, so sharing is exact; with several threads a
/// connection task may deliver one meanwhile, and the stamp it gets is then early by at most
/// the work of this many replies (a few µs).
const MAX_SHARED: u32 = 16;

pub struct ArrivalClock {
    last: Instant,
    shared: u32,
}

impl ArrivalClock {
    pub fn new() -> Self {
        Self {
            last: Instant::now(),
            shared: 0,
        }
    }

    /// Awaits `next` and returns its output with the time it arrived.
    pub async fn timed<F: Future>(&mut self, next: F) -> (F::Output, Instant) {
        let mut next = pin!(next);
        let mut waited = false;
        let output = std::future::poll_fn(|cx| {
            let poll = next.as_mut().poll(cx);
            waited |= poll.is_pending();
            poll
        })
        .await;
        if waited || self.shared >= MAX_SHARED {
            self.last = Instant::now();
            self.shared = 0;
        } else {
            self.shared += 1;
        }
        (output, self.last)
    }
}

#[cfg(test)]
mod tests {
    use std::{task::Poll, time::Duration};

    use super::*;

    /// A future that is pending once, like a reply that is not in yet.
    fn later() -> impl Future<Output = ()> {
        let mut polled = false;
        std::future::poll_fn(move |cx| {
            if polled {
                Poll::Ready(())
            } else {
                polled = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        })
    }

    #[tokio::test]
    async fn buffered_replies_share_a_reading_and_a_wait_takes_a_new_one() {
        let mut clock = ArrivalClock::new();
        let ((), first) = clock.timed(later()).await;
        std::thread::sleep(Duration::from_millis(2));
        for _ in 0..MAX_SHARED {
            let ((), at) = clock.timed(std::future::ready(())).await;
            assert_eq!(at, first, "ready at once: it came in with the one before");
        }
        let ((), refreshed) = clock.timed(std::future::ready(())).await;
        assert!(refreshed > first, "shared {MAX_SHARED} times: read again");
        std::thread::sleep(Duration::from_millis(2));
        let ((), waited) = clock.timed(later()).await;
        assert!(waited > refreshed, "a reply waited for is read anew");
    }
}

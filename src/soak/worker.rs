//! The one stream loop every soak worker runs, whatever the pattern: open a stream, send
//! stamped messages, check each echo, record latency and integrity, repeat until stopped.
//! Measurements go into the shared recorder shards (recorder.rs); messages come from outbound.rs.

use std::{
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

// The TSC-based clock: two clock reads per message showed at 7% of a soak's CPU with the
// system clock. Every timestamp a measurement compares comes from this one clock.
use quanta::Instant;

use http::uri::PathAndQuery;
use http_body::Body as HttpBody;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tonic::{metadata::MetadataMap, Request, Status, Streaming};

use super::{
    call,
    failures::FirstFailures,
    integrity::Tracker,
    ledger::{self, Ledger},
    outbound::{Outbound, Sent},
    recorder::{Local, Shards},
    replies::{self, Replies},
    summary,
    wire::{EchoCheck, SoakCodec, WholeReply},
};
use crate::{
    client::{DirectChannel, EchoGrpc},
    config::StreamLength,
    contract::{self, Pattern},
    interceptor::code_name,
    proto::EchoResponse,
    stop::Stop,
};

/// How often a worker hands its measurements to the collector.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// What all workers share: the plan of the run and its stop signals.
pub struct Shared {
    pub clients: Vec<EchoGrpc>,
    /// The same connections as `clients`, for client-stream and bidi calls (call.rs).
    pub channels: Vec<DirectChannel>,
    /// The headers of every client-stream and bidi call.
    pub head: call::Head,
    pub mix: Vec<(Pattern, u32)>,
    pub length: StreamLength,
    pub message_size: usize,
    /// Messages per second of each stream (open loop), or as fast as possible.
    pub stream_rate: Option<f64>,
    /// Bidi streams: messages awaiting their echo, at most.
    pub in_flight: Option<u32>,
    pub timeout: Duration,
    /// Replies per EchoServerStream call.
    pub server_stream_count: u32,
    pub headers: MetadataMap,
    /// Time zero of the send stamps.
    pub epoch: Instant,
    /// Nothing before this (the warm-up) is recorded.
    pub measure_from: Instant,
    /// No new streams or messages after this; streams in flight finish.
    pub stop: Stop,
    /// Streams still in flight after the drain period are dropped.
    pub abort: CancellationToken,
    /// Measured streams still to start, when the run is bounded by a stream count.
    pub streams_left: Option<AtomicU64>,
    pub next_stream: AtomicU64,
    /// Hands each worker its shard (and its connection: `connection_for`).
    pub next_worker: AtomicUsize,
    /// How many workers there are: --concurrency.
    pub workers: usize,
    /// Where the measurements go (see recorder.rs).
    pub shards: Shards,
    /// Why calls fail, told once per status code.
    pub failures: FirstFailures,
}

impl Shared {
    fn claim_stream(&self) -> bool {
        if self.stop.is_given() {
            return false;
        }
        match &self.streams_left {
            Some(left) if Instant::now() >= self.measure_from => left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok(),
            _ => true,
        }
    }

    /// Weighted choice, spread evenly over consecutive stream ids.
    fn pick(&self, id: u64) -> Pattern {
        let total: u64 = self.mix.iter().map(|(_, w)| u64::from(*w)).sum();
        // A multiplicative hash keeps the choice deterministic yet well mixed.
        let mut slot = id.wrapping_mul(0x9E37_79B9_7F4A_7C15) % total.max(1);
        for (pattern, weight) in &self.mix {
            if slot < u64::from(*weight) {
                return *pattern;
            }
            slot -= u64::from(*weight);
        }
        self.mix.first().map_or(Pattern::BidiSync, |(p, _)| *p)
    }

    fn deadline(&self) -> Duration {
        deadline(self.length, self.timeout)
    }
}

/// How long a stream may take: its timeout, after its planned length when it has one.
pub fn deadline(length: StreamLength, timeout: Duration) -> Duration {
    match length {
        StreamLength::Messages(_) => timeout,
        StreamLength::Lasting(d) => d + timeout,
    }
}

/// Runs streams one after another until the run stops.
pub async fn run(shared: Arc<Shared>) {
    let shard = shared.next_worker.fetch_add(1, Ordering::Relaxed);
    let mut rec = Recorder {
        stats: Local::default(),
        shard,
        last_flush: Instant::now(),
        shared: shared.clone(),
    };
    let mut next_call = std::time::Instant::now();
    while shared.claim_stream() {
        let id = shared.next_stream.fetch_add(1, Ordering::Relaxed);
        let pattern = shared.pick(id);
        // A server-stream call sends one message: --rate paces the calls themselves.
        if let (Pattern::ServerStream, Some(rate)) = (pattern, shared.stream_rate) {
            tokio::select! {
                _ = shared.stop.given() => break,
                _ = tokio::time::sleep_until(next_call.into()) => {}
            }
            next_call += Duration::from_secs_f64(1.0 / rate);
        }
        run_stream(&mut rec, pattern, id).await;
        rec.maybe_flush();
    }
    rec.flush();
}

struct Recorder {
    stats: Local,
    shard: usize,
    last_flush: Instant,
    shared: Arc<Shared>,
}

impl Recorder {
    fn measuring(&self, now: Instant) -> bool {
        now >= self.shared.measure_from
    }

    fn now_ns(&self, now: Instant) -> u64 {
        now.duration_since(self.shared.epoch).as_nanos() as u64
    }

    /// Called for every reply, with the time the reply was read (no clock read of its
    /// own): moves the samples to the shard when the buffer is full or a second has passed,
    /// so progress shows even on slow long-lived streams.
    fn tick(&mut self, now: Instant) {
        if self.stats.is_full() || now.saturating_duration_since(self.last_flush) >= FLUSH_EVERY {
            self.flush();
        }
    }

    fn maybe_flush(&mut self) {
        if self.stats.is_full() || self.last_flush.elapsed() >= FLUSH_EVERY {
            self.flush();
        }
    }

    fn flush(&mut self) {
        self.stats.flush(&self.shared.shards, self.shard);
        self.last_flush = Instant::now();
    }

    /// Counts one echo of `len` bytes; returns whether it falls in the measured window.
    fn received(&mut self, now: Instant, len: usize) -> bool {
        let measured = self.measuring(now);
        if measured {
            self.stats.messages_received += 1;
            self.stats.bytes_received += len as u64;
        }
        measured
    }
}

/// How a stream's exchange ended, when the server ended it with OK.
enum Ended {
    /// Every reply is in: messages not echoed are lost.
    Complete { expected: u64 },
    /// The client stopped reading (long-lived server-stream): nothing to account.
    Stopped,
}

async fn run_stream(rec: &mut Recorder, pattern: Pattern, id: u64) {
    let shared = rec.shared.clone();
    let sent = Arc::new(Sent::default());
    let mut tracker = Tracker::default();
    let deadline = tokio::time::Instant::now() + shared.deadline();
    let exchange = exchange(rec, pattern, id, &sent, &mut tracker);
    let outcome = tokio::select! {
        biased;
        _ = shared.abort.cancelled() => Err(Status::cancelled("still running when the run ended")),
        result = tokio::time::timeout_at(deadline, exchange) => {
            result.unwrap_or_else(|_| Err(Status::deadline_exceeded("the stream's deadline passed (client side)")))
        }
    };
    if let Err(status) = &outcome {
        shared.failures.note(status);
    }
    let now = Instant::now();
    if !rec.measuring(now) {
        return;
    }
    let stats = &mut rec.stats;
    stats.calls += 1;
    stats.messages_sent += sent.measured.load(Ordering::Relaxed);
    stats.bytes_sent += sent.measured_bytes.load(Ordering::Relaxed);
    let found = match outcome {
        Ok(Ended::Complete { expected }) => tracker.finish(expected, true),
        Ok(Ended::Stopped) => tracker.finish(0, false),
        Err(status) => {
            stats.record_error(code_name(status.code()));
            tracker.finish(0, false)
        }
    };
    stats.integrity.add(&found);
}

fn request<T>(shared: &Shared, body: T) -> Request<T> {
    let mut request = Request::new(body);
    *request.metadata_mut() = shared.headers.clone();
    request.set_timeout(shared.deadline());
    request
}

async fn exchange(
    rec: &mut Recorder,
    pattern: Pattern,
    id: u64,
    sent: &Arc<Sent>,
    tracker: &mut Tracker,
) -> Result<Ended, Status> {
    let shared = rec.shared.clone();
    let outbound = Outbound::new(&shared, id, sent.clone());
    let connection = connection_for(rec.shard, shared.workers, id, shared.clients.len());
    let path = PathAndQuery::from_static(pattern.path());
    let burst = burst_bytes(shared.length, shared.in_flight, shared.message_size);
    match pattern {
        Pattern::ClientStream => {
            let mut channel = shared.channels[connection].clone();
            // All the call sends, whatever --in-flight says (it paces bidi streams only).
            let ledger = Ledger::for_call(burst_bytes(shared.length, None, shared.message_size));
            let response = call::open(
                &mut channel,
                &shared.head,
                path,
                outbound,
                burst,
                ledger.clone(),
            )
            .await?;
            let (reply, now) = replies::read(response, WholeReply, burst)?.only().await?;
            let measured = rec.received(now, reply.len());
            let sent_total = sent.total.load(Ordering::Relaxed);
            let last_sent_ns = summary::check(&reply, id, sent_total, ledger, tracker);
            // The call's latency runs from the half-close, right after the last message went out.
            if measured && last_sent_ns > 0 {
                rec.stats.record_latency(Duration::from_nanos(
                    rec.now_ns(now).saturating_sub(last_sent_ns),
                ));
            }
            Ok(Ended::Complete {
                expected: sent_total,
            })
        }
        Pattern::ServerStream => {
            let mut one = outbound.with_limit(1);
            let Some(first) = one.next_message(Instant::now()) else {
                return Ok(Ended::Stopped);
            };
            let mut client = shared.clients[connection].clone();
            client
                .ready()
                .await
                .map_err(|e| Status::unknown(format!("Service was not ready: {e}")))?;
            let start = Instant::now();
            let replies = client
                .server_streaming(request(&shared, first), path, SoakCodec::replies(burst))
                .await?
                .into_inner();
            server_stream_replies(rec, replies, &first.text(), start, tracker).await
        }
        Pattern::BidiSync | Pattern::BidiAsync => {
            let window = shared
                .in_flight
                .map(|n| Arc::new(Semaphore::new(n as usize)));
            let outbound = outbound.with_window(window.clone());
            let prefix = match pattern {
                Pattern::BidiSync => contract::SYNC_PREFIX,
                _ => contract::ASYNC_PREFIX,
            };
            let mut channel = shared.channels[connection].clone();
            let ledger = Ledger::new(ledger::ECHO_MAX);
            let response = call::open(
                &mut channel,
                &shared.head,
                path,
                outbound,
                burst,
                Some(ledger.clone()),
            )
            .await?;
            let check = EchoCheck::new(prefix, id, Some(ledger));
            let replies = replies::read(response, check, burst)?;
            bidi_replies(rec, replies, id, sent, window.as_deref(), tracker).await?;
            Ok(Ended::Complete {
                expected: sent.total.load(Ordering::Relaxed),
            })
        }
    }
}

/// The connection stream `id`, run by worker `worker` of `workers`, goes over. With a worker
/// or more per connection each worker keeps to one, so every connection carries the same
/// number of streams at all times (--concurrency / --connections, as h2load's -m). Taken in
/// turn by stream id, as they were, the streams in flight on a connection came and went
/// unevenly, and the same server spent more CPU per call. Keeping to one connection gave
/// 5–29% more bidi-sync calls a second (5 pairs) and −0.4% to +14% more client-stream calls
/// (5 pairs, median +6%), at 64 streams over 8 connections. With fewer workers than
/// connections, streams take the connections in turn, so all are used.
fn connection_for(worker: usize, workers: usize, id: u64, connections: usize) -> usize {
    if workers >= connections {
        worker % connections
    } else {
        (id % connections as u64) as usize
    }
}

/// Protobuf and gRPC framing around a message's text, and the longest reply prefix.
const WIRE_OVERHEAD: usize = 40;

/// The bytes a stream sends, or gets back, in one burst: all its messages, or its in-flight
/// window of them. Long-lived streams send at their own pace: 0, the codec's small default.
fn burst_bytes(length: StreamLength, in_flight: Option<u32>, message_size: usize) -> usize {
    let StreamLength::Messages(messages) = length else {
        return 0;
    };
    let burst = in_flight.map_or(messages, |window| window.min(messages));
    (burst as usize).saturating_mul(message_size + WIRE_OVERHEAD)
}

async fn bidi_replies<B>(
    rec: &mut Recorder,
    mut replies: Replies<B, EchoCheck>,
    id: u64,
    sent: &Sent,
    window: Option<&Semaphore>,
    tracker: &mut Tracker,
) -> Result<(), Status>
where
    B: HttpBody<Data = bytes::Bytes, Error = Status> + Unpin,
{
    while let Some(echoes) = replies.next().await? {
        // The echoes of one DATA frame arrived together: one clock reading for all.
        let now = Instant::now();
        for echo in echoes {
            let echo = echo?;
            // Integrity is followed over the whole stream, the measurements only after the warm-up.
            let measured = rec.received(now, echo.len);
            match echo.stamp {
                Some(stamp) if stamp.stream == id => {
                    tracker.observe(stamp.seq, sent.total.load(Ordering::Relaxed));
                    if measured {
                        rec.stats.record_latency(Duration::from_nanos(
                            rec.now_ns(now).saturating_sub(stamp.sent_ns),
                        ));
                    }
                }
                _ => tracker.corrupted(),
            }
            // Any reply frees a slot: a corrupted echo still answered one message.
            if let Some(window) = window {
                window.add_permits(1);
            }
        }
        rec.tick(now);
    }
    Ok(())
}

async fn server_stream_replies(
    rec: &mut Recorder,
    mut replies: Streaming<EchoResponse>,
    message: &str,
    start: Instant,
    tracker: &mut Tracker,
) -> Result<Ended, Status> {
    let shared = rec.shared.clone();
    let expected = u64::from(shared.server_stream_count);
    // A deadline for tokio's timer, which runs on the system clock.
    let until = match shared.length {
        StreamLength::Lasting(d) => {
            Some(tokio::time::Instant::now() + d.saturating_sub(start.elapsed()))
        }
        StreamLength::Messages(_) => None,
    };
    let mut previous: Option<Instant> = None;
    loop {
        let next = match until {
            Some(until) => match tokio::time::timeout_at(until, replies.message()).await {
                Ok(next) => next?,
                Err(_) => return Ok(Ended::Stopped),
            },
            None => replies.message().await?,
        };
        let Some(reply) = next else { break };
        let now = Instant::now();
        if rec.received(now, reply.message.len()) {
            match previous {
                None => rec.stats.record_first_reply(now - start),
                Some(previous) => rec.stats.record_inter_arrival(now - previous),
            }
        }
        // `Echo #i: <message>`, i counting from 1.
        let index = contract::parse_server_stream_reply(&reply.message)
            .filter(|&(i, echoed)| i >= 1 && echoed == message)
            .map(|(i, _)| i);
        match index {
            Some(i) => tracker.observe(i - 1, expected),
            None => tracker.corrupted(),
        }
        previous = Some(now);
        rec.tick(now);
    }
    Ok(Ended::Complete { expected })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{burst_bytes, connection_for, StreamLength, WIRE_OVERHEAD};

    #[test]
    fn each_connection_carries_its_share_of_the_workers_whatever_the_stream() {
        // 64 workers over 8 connections, each on its tenth stream by now.
        let mut per_connection = [0; 8];
        for worker in 0..64 {
            let connection = connection_for(worker, 64, 1_000 + worker as u64 * 7, 8);
            assert_eq!(
                connection,
                connection_for(worker, 64, 5, 8),
                "a worker keeps its connection"
            );
            per_connection[connection] += 1;
        }
        assert_eq!(per_connection, [8; 8]);
        // 10 over 4: two or three each.
        let mut per_connection = [0; 4];
        for worker in 0..10 {
            per_connection[connection_for(worker, 10, 0, 4)] += 1;
        }
        assert_eq!(per_connection, [3, 3, 2, 2]);
        // Fewer workers than connections: the streams take them all in turn.
        let used: Vec<usize> = (0..4).map(|id| connection_for(0, 1, id, 4)).collect();
        assert_eq!(used, [0, 1, 2, 3]);
    }

    #[test]
    fn a_call_s_buffers_fit_its_messages_or_its_window_and_long_streams_keep_the_default() {
        let per_message = 64 + WIRE_OVERHEAD;
        assert_eq!(
            burst_bytes(StreamLength::Messages(100), None, 64),
            100 * per_message
        );
        assert_eq!(
            burst_bytes(StreamLength::Messages(100), Some(8), 64),
            8 * per_message
        );
        assert_eq!(
            burst_bytes(StreamLength::Messages(3), Some(8), 64),
            3 * per_message
        );
        assert_eq!(
            burst_bytes(StreamLength::Lasting(Duration::from_secs(60)), None, 64),
            0
        );
    }
}

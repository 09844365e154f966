//! Write coalescing and read-ahead under an HTTP/2 connection, the client's and the server's:
//! frames queued by many calls in a round or two of the scheduler leave in one write.
//!
//! h2 flushes its connection once per DATA frame it sends (it holds one DATA payload at a
//! time), so 8 calls on a connection that start (or finish) together cost 8 writes, and the
//! peer then wakes, reads and answers 8 times. Here bytes written are kept, and a flush only
//! asks for the connection task to be polled once more, after the tasks that are ready now
//! (the calls about to send their next request, the handlers about to answer), until the
//! polls a flush is put off for have begun; the flush of the last writes everything in one
//! go. No timer: when nothing else is ready the next poll comes at once. Netty's
//! `FlushConsolidationHandler` does the same for the same reason.
//!
//! Measured with soak (64 bidi streams over 8 connections, 100 messages of 64 B per call,
//! server and client on one core each): 3.3 → 2.5 TCP segments per call, the client's CPU
//! per call −6 to −19% (7 pairs), the same `serve` answering 4% more calls per second
//! (median of 6 pairs), and spending less CPU per call than under h2load. Under `serve`
//! (client-stream, same shape): 1.1–1.2 `writev`s per call before, each a loopback send
//! that also runs the receiving side's TCP work on the server's core; 11–20% more calls per
//! second after (median 17%, 6 pairs of servers side by side), under soak and under h2load
//! alike (see [`SERVER_POLLS`]).
//!
//! Reads are taken from the socket 64 KiB at a time and handed out from there. h2 reads into
//! an 8 KiB buffer: a batch of 8 calls' requests (or replies) took a `recvfrom` per 8 KiB and
//! one more that found the socket empty, 1.1 (client-stream) to 1.7 (bidi-sync) per call on
//! each side; read ahead, 0.13 (serve, under soak or h2load) and 0.13–0.26 (soak). The
//! buffer is let go whenever the socket has nothing more, so an idle connection holds none.
//!
//! A poll is told by a read: h2's connection task reads until the socket has nothing more
//! (which ends in `poll_read` here) before it flushes what its calls queued, every time it
//! runs. So this is for the h2 connection only, not for a writer that flushes and then waits
//! for something other than this stream. A TLS handshake is such a writer: it flushes a
//! flight and waits for the peer's answer with no read to count the poll by. The client's
//! TLS runs below this (tls.rs), so only h2 writes through it; serve's runs above it (tonic
//! wraps the accepted connection), so serve's TLS connections put off no polls (serve/mod.rs)
//! and keep only what is written between two flushes. Kept bytes leave at a flush, when the
//! buffer is full, before a large write, or at shutdown: never on their own.

use std::{
    io,
    pin::Pin,
    task::{ready, Context, Poll},
};

use bytes::{Buf as _, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Polls of the client's connection task a flush is put off for. Two: through tonic's
/// channel (probe's) a call made in the round a reply woke it reaches HTTP/2 a round later,
/// through tonic's `Buffer` task, so with one poll soak wrote once per call; with two, 0.60
/// writes per call instead of 0.94 and 5-11% less CPU per call (client-stream and bidi-sync
/// soaks, 64 streams over 8 connections); with three, no fewer writes. soak's own connections
/// (client/direct/) have no such hop, and one poll still did worse there: client-stream 4 of
/// 5 pairs fewer calls a second (up to −11%), bidi-sync 2 better and 3 worse.
pub const CLIENT_POLLS: u8 = 2;

/// Polls of the server's connection task a flush is put off for. One: the replies of the
/// handlers a read woke are in by the next poll, and each poll put off adds a scheduler pass
/// to a lone reply. Client-stream, 64 streams over 8 connections: 33.3 k → 39.7 k calls/s
/// under soak, 33.6 k → 40.4 k under h2load (two polls: about the same); ping-pong on one
/// stream unchanged within this machine's noise (p50 ratios 0.87–1.11, median 1.00, 6 pairs);
/// none (a poll's frames only): +2-4%.
pub const SERVER_POLLS: u8 = 1;

/// Capacity kept for the next batch after a write: a connection that once sent a burst does
/// not hold its buffer while idle (a server may hold thousands of connections).
const KEEP: usize = 16 * 1024;

/// Bytes kept at most: past it they are written out before more are taken.
const CAPACITY: usize = 64 * 1024;

/// Writes this large (big messages' DATA frames) go straight out: one copy less, and they
/// fill a write on their own.
const DIRECT: usize = 16 * 1024;

/// Bytes asked of the socket at a time. Reads at least this large go straight to the reader.
const READ_AHEAD: usize = 64 * 1024;

pub struct Coalesce<T> {
    io: T,
    buf: Vec<u8>,
    /// How much of `buf` the socket has taken.
    written: usize,
    /// The largest batch written lately (it decays by an eighth a batch): a fresh buffer
    /// starts with room for it.
    peak: usize,
    /// A flush was put off and the task woken for another poll, which has not begun yet.
    woken: bool,
    /// Polls begun since bytes were first kept: at `polls`, the next flush writes.
    rounds: u8,
    polls: u8,
    /// Read from the socket, not yet handed to the reader.
    ahead: BytesMut,
}

impl<T> Coalesce<T> {
    /// `io` with its flushes put off for `polls` polls of the connection task
    /// ([`CLIENT_POLLS`], [`SERVER_POLLS`]).
    pub fn new(io: T, polls: u8) -> Self {
        Self {
            io,
            buf: Vec::new(),
            written: 0,
            peak: 0,
            woken: false,
            rounds: 0,
            polls,
            ahead: BytesMut::new(),
        }
    }

    pub fn get_ref(&self) -> &T {
        &self.io
    }
}

impl<T: AsyncWrite + Unpin> Coalesce<T> {
    /// Writes out everything kept; on `Pending` what is left stays for the next call.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.buf.len() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.buf[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.peak = self.buf.len().max(self.peak - self.peak / 8);
        if self.buf.capacity() > KEEP {
            self.buf = Vec::new();
        } else {
            self.buf.clear();
        }
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Coalesce<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        // h2's connection task reads first whenever it runs: a read after the wake is the
        // poll the wake asked for (more reads in the same poll find `woken` cleared).
        if self.woken {
            self.woken = false;
            self.rounds += 1;
        }
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        if self.ahead.is_empty() {
            if buf.remaining() >= READ_AHEAD {
                return Pin::new(&mut self.io).poll_read(cx, buf);
            }
            let this = &mut *self;
            // Taken back from the last read when it is still there (nothing points into it).
            this.ahead.reserve(READ_AHEAD);
            match tokio_util::io::poll_read_buf(Pin::new(&mut this.io), cx, &mut this.ahead) {
                Poll::Ready(Ok(_)) => {}
                other => {
                    // Nothing more for now (or ever): an idle connection holds no buffer.
                    this.ahead = BytesMut::new();
                    return other.map_ok(drop);
                }
            }
        }
        let n = self.ahead.len().min(buf.remaining());
        buf.put_slice(&self.ahead[..n]);
        self.ahead.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Coalesce<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[io::IoSlice::new(data)])
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let len: usize = bufs.iter().map(|b| b.len()).sum();
        if len >= DIRECT || self.buf.len() + len > CAPACITY {
            ready!(self.drain(cx))?;
        }
        if len >= DIRECT {
            return Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        }
        if self.buf.capacity() == 0 {
            // Room for the largest batch of late, in one allocation: grown from empty by
            // doubling, a batch was copied over and over (realloc was 3% of a bidi soak's
            // instructions, its copies more of its time).
            let size = self.peak.max(len).next_power_of_two().min(CAPACITY);
            self.buf.reserve_exact(size);
        }
        for b in bufs {
            self.buf.extend_from_slice(b);
        }
        Poll::Ready(Ok(len))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.buf.is_empty() {
            if self.rounds < self.polls {
                if !self.woken {
                    self.woken = true;
                    cx.waker().wake_by_ref();
                }
                return Poll::Ready(Ok(()));
            }
            ready!(self.drain(cx))?;
        }
        self.woken = false;
        self.rounds = 0;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::{
        collections::VecDeque,
        io,
        pin::Pin,
        sync::{
            atomic::{AtomicUsize, Ordering},
            Arc,
        },
        task::{Context, Poll, Wake, Waker},
    };

    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

    use super::{Coalesce, CAPACITY, CLIENT_POLLS, DIRECT, KEEP, READ_AHEAD, SERVER_POLLS};

    /// A socket that records each write it takes; `limits` caps what the next writes take
    /// (`None`: not writable now). Reads get what `incoming` holds (as much of its first
    /// chunk as fits), then the end of the stream if `closed`, else nothing yet.
    #[derive(Default)]
    struct Wire {
        writes: Vec<Vec<u8>>,
        limits: VecDeque<Option<usize>>,
        flushes: usize,
        incoming: VecDeque<Vec<u8>>,
        closed: bool,
        reads: usize,
    }

    impl AsyncRead for Wire {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            self.reads += 1;
            let Some(chunk) = self.incoming.front_mut() else {
                return if self.closed {
                    Poll::Ready(Ok(()))
                } else {
                    Poll::Pending
                };
            };
            let n = chunk.len().min(buf.remaining());
            buf.put_slice(&chunk[..n]);
            chunk.drain(..n);
            if chunk.is_empty() {
                self.incoming.pop_front();
            }
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncWrite for Wire {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            data: &[u8],
        ) -> Poll<io::Result<usize>> {
            let n = match self.limits.pop_front() {
                Some(None) => return Poll::Pending,
                Some(Some(limit)) => limit.min(data.len()),
                None => data.len(),
            };
            self.writes.push(data[..n].to_vec());
            Poll::Ready(Ok(n))
        }

        fn poll_write_vectored(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[io::IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            let all: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
            self.poll_write(cx, &all)
        }

        fn poll_flush(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            self.flushes += 1;
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[derive(Default)]
    struct Wakes(AtomicUsize);

    impl Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    struct Harness {
        io: Coalesce<Wire>,
        wakes: Arc<Wakes>,
        waker: Waker,
    }

    impl Harness {
        fn new() -> Self {
            Self::with_polls(CLIENT_POLLS)
        }

        fn with_polls(polls: u8) -> Self {
            let wakes = Arc::new(Wakes::default());
            Self {
                io: Coalesce::new(Wire::default(), polls),
                waker: Waker::from(wakes.clone()),
                wakes,
            }
        }

        fn write(&mut self, parts: &[&[u8]]) -> Poll<io::Result<usize>> {
            let slices: Vec<_> = parts.iter().map(|p| io::IoSlice::new(p)).collect();
            let mut cx = Context::from_waker(&self.waker);
            Pin::new(&mut self.io).poll_write_vectored(&mut cx, &slices)
        }

        fn flush(&mut self) -> Poll<io::Result<()>> {
            Pin::new(&mut self.io).poll_flush(&mut Context::from_waker(&self.waker))
        }

        /// The start of the connection task's next poll: it reads first.
        fn read(&mut self) {
            let mut space = [0u8; 16];
            let mut buf = ReadBuf::new(&mut space);
            let mut cx = Context::from_waker(&self.waker);
            assert!(Pin::new(&mut self.io)
                .poll_read(&mut cx, &mut buf)
                .is_pending());
        }

        /// A read into `space` bytes of room: what it got, or `None` when nothing is there yet.
        fn read_into(&mut self, space: usize) -> Option<Vec<u8>> {
            let mut room = vec![0u8; space];
            let mut buf = ReadBuf::new(&mut room);
            let mut cx = Context::from_waker(&self.waker);
            match Pin::new(&mut self.io).poll_read(&mut cx, &mut buf) {
                Poll::Ready(Ok(())) => Some(buf.filled().to_vec()),
                Poll::Ready(Err(err)) => panic!("read failed: {err}"),
                Poll::Pending => None,
            }
        }

        fn shutdown(&mut self) -> Poll<io::Result<()>> {
            Pin::new(&mut self.io).poll_shutdown(&mut Context::from_waker(&self.waker))
        }

        fn writes(&self) -> &[Vec<u8>] {
            &self.io.io.writes
        }

        fn wire_bytes(&self) -> Vec<u8> {
            self.writes().concat()
        }

        fn wakes(&self) -> usize {
            self.wakes.0.load(Ordering::Relaxed)
        }
    }

    fn ready<T: std::fmt::Debug>(poll: Poll<io::Result<T>>) -> T {
        match poll {
            Poll::Ready(Ok(value)) => value,
            other => panic!("expected Ready(Ok), got {other:?}"),
        }
    }

    #[test]
    fn writes_leave_together_on_the_flush_of_the_last_poll_put_off_for() {
        assert_eq!(CLIENT_POLLS, 2, "the walk below is written for two polls");
        let mut h = Harness::new();
        assert_eq!(ready(h.write(&[b"HEADERS", b"DATA-1"])), 13);
        ready(h.flush());
        // Put off: nothing written, the task asked to run once more.
        assert!(h.writes().is_empty());
        assert_eq!(h.wakes(), 1);
        // More frames and flushes in the same poll: still kept, no second wake.
        assert_eq!(ready(h.write(&[b"DATA-2"])), 6);
        ready(h.flush());
        assert!(h.writes().is_empty());
        assert_eq!(h.wakes(), 1);
        // The next poll reads (twice: until the socket has nothing), then flushes: put off
        // once more, with one more wake.
        h.read();
        h.read();
        assert_eq!(ready(h.write(&[b"DATA-3"])), 6);
        ready(h.flush());
        ready(h.flush());
        assert!(h.writes().is_empty());
        assert_eq!(h.wakes(), 2);
        // The poll after it: one write with everything, in order.
        h.read();
        assert_eq!(ready(h.write(&[b"DATA-4"])), 6);
        ready(h.flush());
        assert_eq!(h.writes(), [b"HEADERSDATA-1DATA-2DATA-3DATA-4".to_vec()]);
        assert_eq!(h.io.io.flushes, 1);
        // A new round puts off again, from the start.
        ready(h.write(&[b"next"]));
        ready(h.flush());
        h.read();
        ready(h.flush());
        assert_eq!(h.writes().len(), 1);
        assert_eq!(h.wakes(), 4);
    }

    #[test]
    fn reads_with_nothing_kept_do_not_count_as_polls_put_off() {
        let mut h = Harness::new();
        // Polls with nothing to write: no wake, nothing counted.
        h.read();
        h.read();
        ready(h.flush());
        assert_eq!(h.wakes(), 0);
        ready(h.write(&[b"late"]));
        ready(h.flush());
        h.read();
        ready(h.flush());
        assert!(h.writes().is_empty(), "one poll put off of two");
    }

    #[test]
    fn a_flush_with_nothing_kept_reaches_the_socket_at_once() {
        let mut h = Harness::new();
        ready(h.flush());
        assert_eq!(h.io.io.flushes, 1);
        assert_eq!(h.wakes(), 0);
    }

    #[test]
    fn large_writes_go_straight_out_after_what_was_kept() {
        let mut h = Harness::new();
        ready(h.write(&[b"small"]));
        let big = vec![7u8; DIRECT];
        assert_eq!(ready(h.write(&[b"head", &big])), DIRECT + 4);
        assert_eq!(h.writes().len(), 2);
        assert_eq!(h.writes()[0], b"small");
        assert_eq!(h.wire_bytes().len(), 5 + 4 + DIRECT);
    }

    #[test]
    fn a_full_buffer_is_written_out_before_more_is_taken() {
        let mut h = Harness::new();
        let piece = vec![1u8; DIRECT - 1];
        let mut sent = 0;
        while sent + piece.len() <= CAPACITY {
            ready(h.write(&[&piece]));
            sent += piece.len();
        }
        assert!(h.writes().is_empty());
        ready(h.write(&[&piece]));
        assert_eq!(h.writes().len(), 1);
        assert_eq!(h.writes()[0].len(), sent);
    }

    #[test]
    fn short_and_refused_socket_writes_lose_and_repeat_nothing() {
        let mut h = Harness::new();
        let text: Vec<u8> = (0..200u8).collect();
        ready(h.write(&[&text[..120], &text[120..]]));
        for _ in 0..CLIENT_POLLS {
            ready(h.flush());
            h.read();
        }
        // The socket takes 50 bytes, then is full.
        h.io.io.limits.extend([Some(50), None]);
        assert!(h.flush().is_pending());
        assert_eq!(h.wire_bytes(), text[..50]);
        // Writable again: the rest, once.
        ready(h.flush());
        assert_eq!(h.wire_bytes(), text);
        // A refused write while draining for a large one is retried, not dropped.
        ready(h.write(&[b"kept"]));
        h.io.io.limits.push_back(None);
        let big = vec![9u8; DIRECT];
        assert!(h.write(&[&big]).is_pending());
        assert_eq!(ready(h.write(&[&big])), DIRECT);
        assert_eq!(h.wire_bytes().len(), 200 + 4 + DIRECT);
    }

    #[test]
    fn shutdown_writes_what_was_kept() {
        let mut h = Harness::new();
        ready(h.write(&[b"GOAWAY"]));
        ready(h.flush());
        ready(h.shutdown());
        assert_eq!(h.writes(), [b"GOAWAY".to_vec()]);
    }

    #[test]
    fn the_server_writes_on_the_first_poll_after_the_one_that_queued() {
        assert_eq!(SERVER_POLLS, 1);
        let mut h = Harness::with_polls(SERVER_POLLS);
        ready(h.write(&[b"HEADERS", b"DATA-1"]));
        ready(h.flush());
        ready(h.write(&[b"DATA-2"]));
        ready(h.flush());
        assert!(h.writes().is_empty());
        assert_eq!(h.wakes(), 1);
        h.read();
        ready(h.write(&[b"TRAILERS"]));
        ready(h.flush());
        assert_eq!(h.writes(), [b"HEADERSDATA-1DATA-2TRAILERS".to_vec()]);
        assert_eq!(h.wakes(), 1);
    }

    #[test]
    fn none_put_off_writes_at_every_flush() {
        let mut h = Harness::with_polls(0);
        ready(h.write(&[b"a", b"b"]));
        ready(h.write(&[b"c"]));
        ready(h.flush());
        assert_eq!(h.writes(), [b"abc".to_vec()]);
        assert_eq!(h.wakes(), 0);
    }

    #[test]
    fn a_burst_buffer_is_let_go_once_written() {
        let mut h = Harness::with_polls(0);
        let piece = vec![3u8; DIRECT - 1];
        ready(h.write(&[&piece]));
        ready(h.write(&[&piece]));
        assert!(h.io.buf.capacity() > KEEP);
        ready(h.flush());
        assert_eq!(h.wire_bytes().len(), 2 * piece.len());
        assert_eq!(h.io.buf.capacity(), 0, "a burst's buffer is freed");
        // Batches after a burst start with room for it until it has decayed (an eighth a
        // batch: 32 KiB to under 16 KiB in 6), each buffer freed once written.
        for _ in 0..6 {
            ready(h.write(&[b"small"]));
            assert!(h.io.buf.capacity() > KEEP);
            ready(h.flush());
            assert_eq!(h.io.buf.capacity(), 0);
        }
        ready(h.write(&[b"small"]));
        ready(h.flush());
        let kept = h.io.buf.capacity();
        assert!(
            kept > 0 && kept <= KEEP,
            "a small buffer is kept for the next batch"
        );
    }

    #[test]
    fn a_fresh_buffer_has_room_for_the_last_batch() {
        let mut h = Harness::with_polls(0);
        let piece = vec![5u8; DIRECT - 1];
        for _ in 0..3 {
            ready(h.write(&[&piece]));
        }
        ready(h.flush());
        assert_eq!(h.io.buf.capacity(), 0, "freed once written");
        // The next batch starts in a buffer that holds a batch like the last one.
        ready(h.write(&[b"next"]));
        assert!(h.io.buf.capacity() >= 3 * piece.len());
        assert!(h.io.buf.capacity() <= CAPACITY);
        for _ in 0..2 {
            ready(h.write(&[&piece]));
        }
        ready(h.flush());
        assert_eq!(h.wire_bytes().len(), 5 * piece.len() + 4);
        // A first batch starts at its first write's size: no buffer before there is one.
        let mut fresh = Harness::with_polls(0);
        ready(fresh.write(&[b"abc"]));
        assert!(fresh.io.buf.capacity() < KEEP);
    }

    #[test]
    fn a_batch_is_read_from_the_socket_once_and_handed_out_in_the_reader_s_pieces() {
        let mut h = Harness::new();
        // Three calls' requests in the socket: 20,000 bytes; h2 reads 8 KiB at a time.
        let batch: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        h.io.io.incoming.push_back(batch.clone());
        let mut got = Vec::new();
        for expected in [8192, 8192, 3616] {
            let piece = h.read_into(8192).expect("bytes were there");
            assert_eq!(piece.len(), expected);
            got.extend(piece);
        }
        assert_eq!(got, batch, "every byte, in order");
        assert_eq!(h.io.io.reads, 1, "one socket read for the batch");
        // The socket has nothing more: the reader waits, and no buffer is held meanwhile.
        assert_eq!(h.read_into(8192), None);
        assert_eq!(h.io.io.reads, 2);
        assert_eq!(h.io.ahead.capacity(), 0);
        // Bytes that come later are read as they come.
        h.io.io.incoming.push_back(b"PING".to_vec());
        assert_eq!(h.read_into(8192), Some(b"PING".to_vec()));
    }

    #[test]
    fn the_end_of_the_stream_and_large_or_empty_reads_pass_through() {
        let mut h = Harness::new();
        // A reader with room for a whole read-ahead reads the socket itself.
        h.io.io.incoming.push_back(vec![7u8; 100]);
        assert_eq!(h.read_into(READ_AHEAD), Some(vec![7u8; 100]));
        assert_eq!(h.io.ahead.capacity(), 0, "nothing went through the buffer");
        // No room: nothing read, and not mistaken for the end of the stream.
        h.io.io.incoming.push_back(b"kept".to_vec());
        assert_eq!(h.read_into(0), Some(Vec::new()));
        assert_eq!(h.io.io.reads, 1);
        assert_eq!(h.read_into(16), Some(b"kept".to_vec()));
        // The peer closes: the reader sees the end of the stream.
        h.io.io.closed = true;
        assert_eq!(h.read_into(16), Some(Vec::new()));
    }
}

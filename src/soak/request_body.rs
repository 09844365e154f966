//! The request body of an uncompressed client-stream or bidi call: every message the
//! stream has ready is written, gRPC prefix and all, straight into one DATA frame.
//!
//! What tonic's `EncodeBody` does, minus what soak does not need: it reserves and then
//! back-fills each message's prefix (the length is known here before a byte is written),
//! passes each through its compression switch and error paths, and sits under two boxed
//! body adapters. This body also knows it has ended when its last frame is handed out, so
//! client/end.rs's look-ahead (END_STREAM on the last DATA frame) finds the end at once.
//! Compressed calls still go through tonic's (call.rs).

use std::{
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    task::{Context, Poll},
};

use bytes::{Bytes, BytesMut};
use http_body::Frame;
use tokio_stream::Stream;
use tonic::Status;

use super::{
    integrity::Stamper,
    ledger::{Ledger, Sent, Times},
    wire::{self, Stamped},
};
use crate::codec;

pub struct RequestBody<S> {
    messages: S,
    stamper: Stamper,
    buf: BytesMut,
    /// The messages have all been written: the frame being handed out is the last.
    ended: bool,
    /// Set at each poll (outbound.rs: messages of one poll share a clock reading).
    polled: Arc<AtomicBool>,
    ledger: Option<Ledger>,
    /// The first sequence number and the send times of the frame being written, for the
    /// ledger.
    first_seq: u64,
    times: Times,
    count: usize,
}

impl<S> RequestBody<S> {
    /// `burst`: the bytes the call sends at a time, at most (the buffer's starting size).
    pub fn new(messages: S, burst: usize, polled: Arc<AtomicBool>, ledger: Option<Ledger>) -> Self {
        Self {
            messages,
            stamper: Stamper::default(),
            buf: BytesMut::with_capacity(codec::starting_size(burst)),
            ended: false,
            polled,
            ledger,
            first_seq: 0,
            times: Times::default(),
            count: 0,
        }
    }
}

impl<S: Stream<Item = Stamped> + Unpin> http_body::Body for RequestBody<S> {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = self.get_mut();
        this.polled.store(true, Ordering::Relaxed);
        // As tonic's encoder: a frame is handed out once it holds this much, so a stream
        // that always has a message ready still lets HTTP/2 send.
        while !this.ended && this.buf.len() < codec::YIELD_THRESHOLD {
            match Pin::new(&mut this.messages).poll_next(cx) {
                Poll::Ready(Some(item)) => {
                    if this.ledger.is_some() {
                        if this.count == 0 {
                            this.first_seq = item.stamp.seq;
                        }
                        this.times.push(this.count, item.stamp.sent_ns);
                        this.count += 1;
                    }
                    wire::write_message(&mut this.stamper, item, &mut this.buf)
                }
                Poll::Ready(None) => this.ended = true,
                Poll::Pending => break,
            }
        }
        if this.buf.is_empty() {
            return if this.ended {
                Poll::Ready(None)
            } else {
                Poll::Pending
            };
        }
        let frame = this.buf.split().freeze();
        let times = std::mem::take(&mut this.times);
        this.count = 0;
        if let Some(ledger) = &this.ledger {
            ledger.push(Sent {
                bytes: frame.clone(),
                first_seq: this.first_seq,
                times,
            });
        }
        Poll::Ready(Some(Ok(Frame::data(frame))))
    }

    fn is_end_stream(&self) -> bool {
        self.ended && self.buf.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    };

    use bytes::Bytes;
    use http_body::Body as _;
    use http_body_util::BodyExt as _;
    use tokio_stream::StreamExt as _;
    use tonic::codec::EncodeBody;

    use super::RequestBody;
    use crate::soak::{
        integrity::Stamp,
        ledger::{Ledger, Texts},
        wire::{StampEncoder, Stamped},
    };

    /// Messages always ready, as a closed-loop `Outbound` has them (tokio_stream's `iter`
    /// pauses every 32 items).
    struct Ready(std::vec::IntoIter<Stamped>);

    impl tokio_stream::Stream for Ready {
        type Item = Stamped;

        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Stamped>> {
            std::task::Poll::Ready(self.0.next())
        }
    }

    fn messages(n: u64, size: usize) -> Ready {
        Ready(messages_vec(n, size).into_iter())
    }

    fn messages_vec(n: u64, size: usize) -> Vec<Stamped> {
        (0..n)
            .map(|seq| Stamped {
                stamp: Stamp {
                    stream: 7,
                    seq,
                    sent_ns: 1_000 + seq / 3,
                },
                size,
            })
            .collect()
    }

    /// The body's DATA frames, in order.
    async fn frames<B: http_body::Body<Data = Bytes>>(body: B) -> Vec<Bytes>
    where
        B::Error: std::fmt::Debug,
    {
        let mut body = std::pin::pin!(body);
        let mut frames = Vec::new();
        while let Some(frame) = body.frame().await {
            frames.push(
                frame
                    .expect("no error")
                    .into_data()
                    .expect("data frames only"),
            );
        }
        frames
    }

    #[tokio::test]
    async fn writes_the_frames_tonics_encoder_writes() {
        // One frame; one of several messages; frames cut at 32 KiB, small and big messages.
        for (n, size) in [(1, 0), (100, 64), (3, 200), (700, 64), (40, 5_000)] {
            let polled = Arc::new(AtomicBool::new(false));
            let ours = RequestBody::new(messages(n, size), 0, polled.clone(), None);
            let tonics =
                EncodeBody::new_client(StampEncoder::new(0), messages(n, size).map(Ok), None, None);
            let ours = frames(ours).await;
            assert_eq!(ours, frames(tonics).await, "{n} × {size} B");
            assert_eq!(ours.len() > 1, n * size as u64 > 40_000, "{n} × {size} B");
            assert!(polled.load(Ordering::Relaxed));
        }
    }

    #[tokio::test]
    async fn the_last_frame_ends_the_stream_and_the_ledger_keeps_every_frame_and_stamp() {
        let ledger = Ledger::for_call(100_000).expect("a bounded call");
        let mut body = RequestBody::new(
            messages(100, 64),
            0,
            Arc::new(AtomicBool::new(false)),
            Some(ledger.clone()),
        );
        assert!(!body.is_end_stream());
        let frame = body.frame().await.expect("a frame").expect("no error");
        assert!(body.is_end_stream(), "END_STREAM goes on the frame itself");
        assert!(body.frame().await.is_none());
        let frame = frame.into_data().expect("data");
        let mut texts = Texts::new(ledger);
        for message in messages_vec(100, 64) {
            let sent = texts.next_if(message.text().as_bytes());
            assert_eq!(
                sent.map(|s| (s.seq, s.sent_ns)),
                Some((message.stamp.seq, message.stamp.sent_ns))
            );
        }
        assert_eq!(texts.peek(), None, "one frame, all of it read");
        assert_eq!(frame.len(), 100 * (5 + 2 + 64));
    }

    #[tokio::test]
    async fn a_stream_with_nothing_ready_is_pending_not_ended() {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let mut body = RequestBody::new(
            tokio_stream::wrappers::ReceiverStream::new(rx),
            0,
            Arc::new(AtomicBool::new(false)),
            None,
        );
        let pending = tokio::time::timeout(std::time::Duration::from_millis(20), body.frame());
        assert!(pending.await.is_err(), "nothing to send yet");
        assert!(!body.is_end_stream());
        for message in messages_vec(2, 64) {
            tx.send(message).await.expect("the body listens");
        }
        drop(tx);
        let frame = body.frame().await.expect("a frame").expect("no error");
        assert_eq!(frame.into_data().expect("data").len(), 2 * (5 + 2 + 64));
        assert!(body.is_end_stream());
    }
}

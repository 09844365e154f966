//! What a call sent: its request DATA frames as its body handed them to HTTP/2 (a reference
//! each, no copy: request_body.rs), with each frame's first sequence number and its
//! messages' send times. A reply that repeats the next text sent, byte for byte, is checked
//! by one comparison: its stamp is the one that text was sent with, which is what decoding
//! it would find. Only a reply that differs is decoded. A bidi-sync echo's check went from
//! 541 instructions to 257 (callgrind, 64-byte messages; decoding parses three hex fields and
//! checks the seal and the payload), the soak's from 179 k to 152 k per call of 100 echoes;
//! reading the sent frames back adds about 300 L1 misses a call (cachegrind). A
//! client-stream summary's items are checked the same way.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, PoisonError},
};

use bytes::Bytes;

use super::replies::{message_len, PREFIX};
use crate::codec::field;

/// A client-stream call that may send more than this is checked by decoding alone (a
/// long-lived stream, huge messages): its ledger holds all of its frames until its reply.
pub const CALL_MAX: usize = 1 << 20;

/// The most a bidi call's ledger holds at once: frames sent while it holds this much are not
/// kept, and their echoes are decoded (a server that reads and does not answer must not
/// make soak hold all it sends).
pub const ECHO_MAX: usize = 256 << 10;

/// The frames a call sent, from the oldest not yet read back.
#[derive(Debug, Clone)]
pub struct Ledger(Arc<Mutex<Kept>>);

#[derive(Debug)]
struct Kept {
    frames: VecDeque<Sent>,
    held: usize,
    limit: usize,
}

/// One request DATA frame: uncompressed gRPC messages, whole.
#[derive(Debug)]
pub struct Sent {
    pub bytes: Bytes,
    pub first_seq: u64,
    pub times: Times,
}

/// The send times of a frame's messages, as runs of messages that share one: a closed-loop
/// burst reads the clock once per few messages (outbound.rs). Each run is the index of its
/// first message in the frame and its time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Times(Vec<(usize, u64)>);

/// Runs a frame of a burst has room for at first: 100 messages read the clock 13 times.
const RUNS: usize = 16;

impl Times {
    /// Adds message `index` of the frame (the next one), sent at `sent_ns`.
    #[inline]
    pub fn push(&mut self, index: usize, sent_ns: u64) {
        if self.0.last().is_some_and(|&(_, last)| last == sent_ns) {
            return;
        }
        if self.0.capacity() == 0 {
            self.0.reserve_exact(RUNS);
        }
        self.0.push((index, sent_ns));
    }
}

impl Ledger {
    /// A ledger that holds at most `limit` bytes of frames.
    pub fn new(limit: usize) -> Self {
        Self(Arc::new(Mutex::new(Kept {
            frames: VecDeque::new(),
            held: 0,
            limit,
        })))
    }

    /// A ledger for a call that sends `bytes` in all, its framing included, that holds all
    /// of them; none when that is unbounded (0: a long-lived stream) or over [`CALL_MAX`].
    pub fn for_call(bytes: usize) -> Option<Self> {
        (bytes > 0 && bytes <= CALL_MAX).then(|| Self::new(CALL_MAX))
    }

    /// Keeps the next frame sent, unless the ledger is full.
    pub fn push(&self, sent: Sent) {
        let mut kept = self.lock();
        if kept.held + sent.bytes.len() <= kept.limit {
            kept.held += sent.bytes.len();
            kept.frames.push_back(sent);
        }
    }

    pub(super) fn pop(&self) -> Option<Sent> {
        let mut kept = self.lock();
        let sent = kept.frames.pop_front()?;
        kept.held -= sent.bytes.len();
        Some(sent)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Reads a ledger's texts back in the order they were sent.
#[derive(Debug)]
pub struct Texts {
    ledger: Ledger,
    frame: Option<Sent>,
    /// Where the next message starts in `frame`, its index there, and its run of times.
    at: usize,
    index: usize,
    run: usize,
}

/// A text sent: its sequence number and send time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentText {
    pub seq: u64,
    pub sent_ns: u64,
}

impl Texts {
    pub fn new(ledger: Ledger) -> Self {
        Self {
            ledger,
            frame: None,
            at: 0,
            index: 0,
            run: 0,
        }
    }

    /// The next text, when there is one, and the bytes its message takes.
    pub fn peek(&mut self) -> Option<(&[u8], usize)> {
        if self.frame.as_ref().is_none_or(|f| self.at >= f.bytes.len()) {
            self.next_frame()?;
        }
        let frame = self.frame.as_ref()?;
        message_text(frame.bytes.get(self.at..)?)
    }

    /// Takes the next frame from the ledger, once the one read is used up.
    #[cold]
    fn next_frame(&mut self) -> Option<()> {
        let frame = loop {
            let frame = self.ledger.pop()?;
            if !frame.bytes.is_empty() {
                break frame;
            }
        };
        (self.frame, self.at, self.index, self.run) = (Some(frame), 0, 0, 0);
        Some(())
    }

    /// Moves past the text [`Texts::peek`] gave, which took `used` bytes.
    pub fn advance(&mut self, used: usize) -> Option<SentText> {
        let frame = self.frame.as_ref()?;
        let runs = &frame.times.0;
        while runs
            .get(self.run + 1)
            .is_some_and(|&(first, _)| first <= self.index)
        {
            self.run += 1;
        }
        let sent = SentText {
            seq: frame.first_seq + self.index as u64,
            sent_ns: runs.get(self.run).map_or(0, |&(_, sent_ns)| sent_ns),
        };
        self.at += used;
        self.index += 1;
        Some(sent)
    }

    /// The next text's stamp values, when `text` is that text; moves past it then.
    pub fn next_if(&mut self, text: &[u8]) -> Option<SentText> {
        let (next, used) = self.peek()?;
        if super::same::same(next, text) {
            self.advance(used)
        } else {
            None
        }
    }

    /// Moves past the texts up to sequence number `seq`, which came back out of turn: the
    /// ones before it were skipped by the server, or come later.
    pub fn skip_through(&mut self, seq: u64) {
        while let Some((_, used)) = self.peek() {
            let next = self
                .frame
                .as_ref()
                .map_or(0, |f| f.first_seq + self.index as u64);
            if next > seq {
                break;
            }
            self.advance(used);
        }
    }
}

/// The text of the EchoRequest at the start of `bytes`, a gRPC message, and the bytes that
/// message takes; none when it is not whole there or not uncompressed. Our own requests, as
/// `wire::write_message` writes them (one field, ASCII): no UTF-8 check, which was a
/// quarter of reading them.
fn message_text(bytes: &[u8]) -> Option<(&[u8], usize)> {
    let len = message_len(bytes).filter(|_| bytes[0] == 0)?;
    let text = field::only_field(&bytes[PREFIX..PREFIX + len])?;
    Some((text, PREFIX + len))
}

/// Messages sent, as a call's body sends them, for the tests of what reads them back.
#[cfg(test)]
pub mod fixture {
    use bytes::Bytes;

    use super::{Ledger, Sent, Times};
    use crate::{
        codec::field,
        soak::integrity::{self, Stamp},
    };

    pub const STREAM: u64 = 7;

    /// Five messages of stream 7 (the third one a short one), sent at 100, 200, … ns, and
    /// a ledger of them: two DATA frames, of three messages and of two.
    pub fn sent() -> (Vec<String>, Ledger) {
        let ledger = Ledger::for_call(1000).expect("a bounded call has a ledger");
        let mut frame = Vec::new();
        let mut times = Times::default();
        let mut first_seq = 0;
        let texts = (0..5)
            .map(|seq| {
                let stamp = Stamp {
                    stream: STREAM,
                    seq,
                    sent_ns: 100 * (seq + 1),
                };
                times.push((seq - first_seq) as usize, stamp.sent_ns);
                let mut text = Vec::new();
                integrity::encode(stamp, if seq == 2 { 0 } else { 64 }, &mut text);
                let mut body = Vec::new();
                field::put(&[&text], &mut body);
                frame.push(0);
                frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
                frame.extend_from_slice(&body);
                if seq == 2 || seq == 4 {
                    ledger.push(Sent {
                        bytes: Bytes::from(std::mem::take(&mut frame)),
                        first_seq,
                        times: std::mem::take(&mut times),
                    });
                    first_seq = seq + 1;
                }
                String::from_utf8_lossy(&text).into_owned()
            })
            .collect();
        (texts, ledger)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::{fixture::sent, *};

    fn at(seq: u64) -> Option<SentText> {
        Some(SentText {
            seq,
            sent_ns: 100 * (seq + 1),
        })
    }

    #[test]
    fn texts_come_back_in_order_across_frames_with_their_stamps() {
        let (texts, ledger) = sent();
        let mut walk = Texts::new(ledger);
        assert_eq!(walk.next_if(texts[1].as_bytes()), None, "not the next one");
        for (seq, text) in texts.iter().enumerate() {
            assert_eq!(walk.next_if(text.as_bytes()), at(seq as u64));
        }
        assert_eq!(walk.next_if(texts[0].as_bytes()), None, "past the end");
        assert_eq!(message_text(&[0, 0, 0, 0, 9, 0x0a, 7]), None, "cut short");
    }

    #[test]
    fn a_text_out_of_turn_skips_those_before_it() {
        let (texts, ledger) = sent();
        let mut walk = Texts::new(ledger);
        assert_eq!(walk.next_if(texts[0].as_bytes()), at(0));
        // 3 came back before 1 and 2 (across the frames' border): 4 is next.
        walk.skip_through(3);
        assert_eq!(walk.next_if(texts[1].as_bytes()), None);
        assert_eq!(walk.next_if(texts[4].as_bytes()), at(4));
        // Already past: nothing moves.
        walk.skip_through(2);
        assert_eq!(walk.peek(), None);
    }

    #[test]
    fn frames_past_the_limit_are_not_kept_and_those_read_back_free_room() {
        let frame = |seq: u64| Sent {
            bytes: Bytes::from(vec![0u8; 100]),
            first_seq: seq,
            times: Times::default(),
        };
        let ledger = Ledger::new(250);
        for seq in 0..3 {
            ledger.push(frame(seq));
        }
        assert_eq!(ledger.pop().map(|s| s.first_seq), Some(0));
        ledger.push(frame(3));
        let kept: Vec<u64> = std::iter::from_fn(|| ledger.pop().map(|s| s.first_seq)).collect();
        assert_eq!(kept, [1, 3], "the third frame found the ledger full");
    }

    #[test]
    fn messages_that_share_a_send_time_share_a_run() {
        let mut times = Times::default();
        for (index, sent_ns) in [5, 5, 9, 9, 9, 5].into_iter().enumerate() {
            times.push(index, sent_ns);
        }
        assert_eq!(times.0, [(0, 5), (2, 9), (5, 5)]);
        let frame = Sent {
            bytes: Bytes::from(vec![0u8; 6]),
            first_seq: 10,
            times,
        };
        let mut texts = Texts::new(Ledger::new(100));
        texts.frame = Some(frame);
        let read: Vec<_> = (0..6).filter_map(|_| texts.advance(1)).collect();
        let expected: Vec<_> = [5, 5, 9, 9, 9, 5]
            .into_iter()
            .enumerate()
            .map(|(i, sent_ns)| SentText {
                seq: 10 + i as u64,
                sent_ns,
            })
            .collect();
        assert_eq!(read, expected);
    }

    #[test]
    fn only_calls_of_a_known_bounded_size_are_kept_whole() {
        assert!(Ledger::for_call(100 * 104).is_some());
        assert!(Ledger::for_call(0).is_none(), "a long-lived stream");
        assert!(Ledger::for_call(CALL_MAX + 1).is_none(), "too much to hold");
    }
}

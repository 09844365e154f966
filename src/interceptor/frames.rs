//! Counts gRPC messages in a body without decoding them, from the length-prefixed framing.

use bytes::{Buf, Bytes};

/// Follows gRPC's length-prefixed framing (1 flag byte, 4 length bytes, payload) across
/// arbitrary chunk boundaries and counts complete messages.
#[derive(Debug, Default)]
pub struct FrameCounter {
    header: [u8; 5],
    header_len: usize,
    payload_left: usize,
    pub messages: u64,
}

impl FrameCounter {
    /// Consumes a chunk; returns how many messages it completed.
    pub fn feed(&mut self, chunk: &Bytes) -> u64 {
        let before = self.messages;
        let mut rest = chunk.chunk();
        while !rest.is_empty() {
            // Fast path, the usual case: a whole header at a frame boundary is read in place.
            if self.header_len == 0 && self.payload_left == 0 && rest.len() >= 5 {
                let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
                let take = len.min(rest.len() - 5);
                rest = &rest[5 + take..];
                if take == len {
                    self.messages += 1;
                } else {
                    self.header_len = 5;
                    self.payload_left = len - take;
                }
                continue;
            }
            if self.header_len < 5 {
                let take = (5 - self.header_len).min(rest.len());
                self.header[self.header_len..self.header_len + take].copy_from_slice(&rest[..take]);
                self.header_len += take;
                rest = &rest[take..];
                if self.header_len == 5 {
                    let len = u32::from_be_bytes([
                        self.header[1],
                        self.header[2],
                        self.header[3],
                        self.header[4],
                    ]);
                    self.payload_left = len as usize;
                    self.complete_if_done();
                }
            } else {
                let take = self.payload_left.min(rest.len());
                self.payload_left -= take;
                rest = &rest[take..];
                self.complete_if_done();
            }
        }
        self.messages - before
    }

    fn complete_if_done(&mut self) {
        if self.header_len == 5 && self.payload_left == 0 {
            self.messages += 1;
            self.header_len = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(len: usize) -> Vec<u8> {
        let mut v = vec![0u8];
        v.extend_from_slice(&(len as u32).to_be_bytes());
        v.extend(std::iter::repeat_n(b'x', len));
        v
    }

    #[test]
    fn counts_messages_split_across_chunks() {
        let mut all = frame(3);
        all.extend(frame(0));
        all.extend(frame(10));
        let mut counter = FrameCounter::default();
        let mut total = 0;
        // One byte at a time: every header and payload boundary falls inside a chunk.
        for byte in &all {
            total += counter.feed(&Bytes::copy_from_slice(&[*byte]));
        }
        assert_eq!(total, 3);
        assert_eq!(counter.feed(&Bytes::from(all)), 3);
    }

    #[test]
    fn any_split_into_two_chunks_counts_the_same() {
        let all: Vec<u8> = [frame(3), frame(0), frame(10), frame(1)].concat();
        for at in 0..=all.len() {
            let mut counter = FrameCounter::default();
            let first = counter.feed(&Bytes::copy_from_slice(&all[..at]));
            let second = counter.feed(&Bytes::copy_from_slice(&all[at..]));
            assert_eq!(first + second, 4, "split at byte {at}");
        }
    }

    #[test]
    fn an_incomplete_message_is_not_counted() {
        let mut counter = FrameCounter::default();
        let partial = &frame(8)[..9];
        assert_eq!(counter.feed(&Bytes::copy_from_slice(partial)), 0);
        assert_eq!(counter.feed(&Bytes::from_static(b"xxxx")), 1);
    }
}

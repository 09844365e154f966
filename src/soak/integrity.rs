//! What every soak message carries so that each echo can be checked: stream id, sequence
//! number, send time and a 32-bit checksum of all of it, as text (`sum.s.n.t.payload`), so any echo
//! server, of any language, returns it untouched inside its reply.
//!
//! The tracker turns the sequence numbers that come back into lost, duplicated, reordered
//! and corrupted counts.

use std::collections::BTreeSet;

use super::stats::Integrity;

/// The decoded header of an echoed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub stream: u64,
    pub seq: u64,
    /// When the message was (meant to be) sent, in nanoseconds since the run's epoch.
    pub sent_ns: u64,
}

/// Width of the checksum field and its dot, which start every message.
const SUM_FIELD: usize = 9;

/// 26 × 16 letters: payloads are slices of this, so they cost a copy, not a loop per byte.
const LETTERS: &str = concat!(
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
);

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Longest header: the checksum field, then three fields of at most 16 digits and a dot.
const HEADER_MAX: usize = SUM_FIELD + 3 * 17;

/// Writes the message for `stamp` (`sum.stream.seq.time.payload`, the checksum covering all
/// after its own field), padded to `size` bytes (never shorter than its header): ASCII, so
/// valid UTF-8. This runs for every message a soak sends, so it formats bytes by hand.
pub fn encode(stamp: Stamp, size: usize, out: &mut Vec<u8>) {
    let mut header = [0u8; HEADER_MAX];
    header[..SUM_FIELD].copy_from_slice(b"00000000.");
    let mut len = SUM_FIELD;
    for value in [stamp.stream, stamp.seq, stamp.sent_ns] {
        let (text, digits) = leading_hex(value);
        // All 16 bytes are stored: one fixed-size store instead of a copy of variable length
        // (a call to memcpy). The next field overwrites what follows the digits.
        header[len..len + 16].copy_from_slice(&text);
        len += digits;
        header[len] = b'.';
        len += 1;
    }
    out.clear();
    out.reserve(len.max(size));
    out.extend_from_slice(&header[..len]);
    // The payload depends on the sequence number, so a payload swapped between messages
    // fails the checksum as surely as a flipped byte.
    let mut offset = (stamp.seq % 26) as usize;
    let mut left = size.saturating_sub(len);
    while left > 0 {
        let take = left.min(LETTERS.len() - offset);
        out.extend_from_slice(&LETTERS.as_bytes()[offset..offset + take]);
        left -= take;
        offset = 0;
    }
    let digest = checksum(&out[SUM_FIELD..]);
    out[..8].copy_from_slice(&ascii_nibbles(digest).to_be_bytes());
}

/// xxh3 cut to 32 bits: for messages of tens of bytes it costs a third of a CRC-32, which
/// showed at 6% of a soak's CPU, and it catches any changed byte just as well.
fn checksum(bytes: &[u8]) -> u32 {
    xxhash_rust::xxh3::xxh3_64(bytes) as u32
}

/// The length of the message `encode` writes for `stamp` and `size`.
pub fn encoded_len(stamp: Stamp, size: usize) -> usize {
    let header = SUM_FIELD
        + [stamp.stream, stamp.seq, stamp.sent_ns]
            .iter()
            .map(|&v| hex_digits(v) + 1)
            .sum::<usize>();
    header.max(size)
}

fn hex_digits(value: u64) -> usize {
    ((64 - value.leading_zeros() as usize).max(1)).div_ceil(4)
}

/// `value` in hex without leading zeros, its digits first in 16 bytes, and how many there are.
fn leading_hex(value: u64) -> ([u8; 16], usize) {
    let digits = hex_digits(value);
    if digits > 8 {
        return (hex_digits_of(value << (64 - 4 * digits)), digits);
    }
    // Stream ids and sequence numbers: half the work.
    let mut text = [0u8; 16];
    text[..8].copy_from_slice(&ascii_nibbles((value as u32) << (32 - 4 * digits)).to_be_bytes());
    (text, digits)
}

/// `value` as 16 lowercase hex digits, leading zeros included: eight digits at a time in one
/// u64 (a nibble per byte, then to ASCII), not a table lookup per digit.
fn hex_digits_of(value: u64) -> [u8; 16] {
    let mut text = [0u8; 16];
    text[..8].copy_from_slice(&ascii_nibbles((value >> 32) as u32).to_be_bytes());
    text[8..].copy_from_slice(&ascii_nibbles(value as u32).to_be_bytes());
    text
}

/// The 8 nibbles of `half` as lowercase hex digits, the most significant in the top byte.
fn ascii_nibbles(half: u32) -> u64 {
    let x = u64::from(half);
    let x = (x | x << 16) & 0x0000_ffff_0000_ffff;
    let x = (x | x << 8) & 0x00ff_00ff_00ff_00ff;
    let nibbles = (x | x << 4) & 0x0f0f_0f0f_0f0f_0f0f;
    // '0' + n, plus 39 more ('a' - '0' - 10) for the nibbles of 10 and above; no byte carries.
    let letters = ((nibbles + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
    nibbles + 0x3030_3030_3030_3030 + letters * 0x27
}

/// The value of each lowercase hex digit; 16 for any other byte. A table lookup, not a
/// match per byte: this runs for every field of every echo.
const HEX_VALUE: [u8; 256] = {
    let mut table = [16u8; 256];
    let mut i = 0;
    while i < 16 {
        table[HEX[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Parses lowercase hex up to the next dot (1 to 16 digits, so it cannot overflow);
/// returns the value and the rest after the dot.
fn take_hex(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut value: u64 = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let digit = HEX_VALUE[usize::from(b)];
        if digit == 16 {
            return (b == b'.' && i > 0).then(|| (value, &bytes[i + 1..]));
        }
        if i == 16 {
            return None;
        }
        value = value << 4 | u64::from(digit);
    }
    None
}

/// Decodes and verifies a message; `None` when it is not one of ours, unchanged.
pub fn decode(bytes: &[u8]) -> Option<Stamp> {
    let (sum, fields) = bytes.split_at_checked(SUM_FIELD)?;
    // The checksum field is compared as text, not parsed: the digits `encode` would write.
    if sum[..8] != ascii_nibbles(checksum(fields)).to_be_bytes() || sum[8] != b'.' {
        return None;
    }
    let (stream, rest) = take_hex(fields)?;
    let (seq, rest) = take_hex(rest)?;
    let (sent_ns, _payload) = take_hex(rest)?;
    Some(Stamp {
        stream,
        seq,
        sent_ns,
    })
}

/// Follows the sequence numbers echoed on one stream, which must come back in order.
#[derive(Debug, Default)]
pub struct Tracker {
    next: u64,
    /// Sequence numbers skipped over: lost, unless they turn up later (reordered).
    missing: BTreeSet<u64>,
    pub found: Integrity,
}

impl Tracker {
    /// An echo of message `seq`, when `sent` messages had been sent.
    pub fn observe(&mut self, seq: u64, sent: u64) {
        if seq >= sent {
            // Never sent: a valid checksum on it means a forged or misrouted message.
            self.found.corrupted += 1;
        } else if seq == self.next {
            self.next += 1;
        } else if seq > self.next {
            self.missing.extend(self.next..seq);
            self.next = seq + 1;
        } else if self.missing.remove(&seq) {
            self.found.reordered += 1;
        } else {
            self.found.duplicated += 1;
        }
    }

    pub fn corrupted(&mut self) {
        self.found.corrupted += 1;
    }

    /// Ends the stream. Only a stream the server ended with OK can have lost messages: on
    /// an error status the unanswered ones are accounted for by the error.
    pub fn finish(&mut self, expected: u64, ended_ok: bool) -> Integrity {
        if ended_ok {
            let unanswered = self.missing.len() as u64 + expected.saturating_sub(self.next);
            // A corrupted echo stands for the message it damaged: not lost a second time.
            self.found.lost += unanswered.saturating_sub(self.found.corrupted);
        }
        std::mem::take(&mut self.found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(seq: u64, size: usize) -> Vec<u8> {
        let mut out = Vec::new();
        encode(
            Stamp {
                stream: 7,
                seq,
                sent_ns: 123_456,
            },
            size,
            &mut out,
        );
        out
    }

    #[test]
    fn hex_digits_are_those_of_format() {
        for value in [
            0,
            9,
            10,
            15,
            0xdead_beef,
            0x1_0000_0000,
            0x0123_4567_89ab_cdef,
            u64::MAX,
        ] {
            assert_eq!(hex_digits_of(value), *format!("{value:016x}").as_bytes());
            let (text, digits) = leading_hex(value);
            assert_eq!(text[..digits], *format!("{value:x}").as_bytes());
        }
    }

    #[test]
    fn round_trips_at_the_requested_size() {
        let text = message(42, 64);
        assert_eq!(text.len(), 64);
        assert_eq!(
            decode(&text),
            Some(Stamp {
                stream: 7,
                seq: 42,
                sent_ns: 123_456
            })
        );
        // Smaller than the header: just the header, still valid.
        let short = message(1, 4);
        assert!(decode(&short).is_some());
    }

    #[test]
    fn any_changed_byte_is_detected() {
        let text = message(3, 80);
        for i in 0..text.len() {
            let mut changed = text.clone();
            changed[i] = if changed[i] == b'z' { b'y' } else { b'z' };
            assert_eq!(decode(&changed), None, "byte {i} changed: {changed:?}");
        }
        assert_eq!(decode(b"hello"), None);
        assert_eq!(decode(b""), None);
    }

    #[test]
    fn hex_fields_take_one_to_sixteen_digits() {
        assert_eq!(take_hex(b"ffffffffffffffff.x"), Some((u64::MAX, &b"x"[..])));
        assert_eq!(take_hex(b"0.rest"), Some((0, &b"rest"[..])));
        assert_eq!(take_hex(b"10000000000000000."), None, "17 digits");
        assert_eq!(take_hex(b".x"), None, "no digits");
        assert_eq!(take_hex(b"AB."), None, "uppercase is not ours");
        assert_eq!(take_hex(b"12"), None, "no dot");
    }

    #[test]
    fn tracker_tells_lost_duplicated_reordered_and_forged() {
        let mut t = Tracker::default();
        for seq in [0, 1, 3, 2, 3, 5, 9] {
            t.observe(seq, 8);
        }
        // 0 1 ok; 3 skips 2; 2 comes late (reordered); 3 again (duplicate); 5 skips 4;
        // 9 was never sent (forged); 6 and 7 never came back, but one corrupted echo
        // stands for one of the three missing.
        let found = t.finish(8, true);
        assert_eq!(
            found,
            Integrity {
                lost: 2,
                duplicated: 1,
                reordered: 1,
                corrupted: 1
            }
        );
    }

    #[test]
    fn a_failed_stream_loses_nothing_silently() {
        let mut t = Tracker::default();
        t.observe(0, 5);
        assert_eq!(t.finish(5, false), Integrity::default());
    }
}

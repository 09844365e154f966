//! What every soak message carries so that each echo can be checked: stream id, sequence
//! number and send time, sealed with a 32-bit hash of them and the message's length, then a
//! payload of letters that follows from the sequence number, all as text
//! (`seal.stream.seq.time.payload`), so any echo server, of any language, returns it
//! untouched inside its reply.
//!
//! The tracker turns the sequence numbers that come back into lost, duplicated, reordered
//! and corrupted counts.

use std::collections::BTreeSet;

use bytes::BufMut;

use super::{same, stats::Integrity};

/// The decoded header of an echoed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub stream: u64,
    pub seq: u64,
    /// When the message was (meant to be) sent, in nanoseconds since the run's epoch.
    pub sent_ns: u64,
}

/// Width of the seal field and its dot, which start every message.
const SEAL_FIELD: usize = 9;

/// 26 × 16 letters: payloads are slices of this, so they cost a copy (and a check, a
/// comparison), not a loop per byte.
const LETTERS: &str = concat!(
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
);

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Longest header: the seal field, then three fields of at most 16 digits and a dot.
const HEADER_MAX: usize = SEAL_FIELD + 3 * 17;

/// The message for a stamp, ready to be written: its header formatted (in its [`Stamper`]),
/// its payload implied.
pub struct Encoded<'a> {
    header: &'a [u8],
    seq: u64,
    len: usize,
}

impl Encoded<'_> {
    /// The message's length in bytes.
    pub fn text_len(&self) -> usize {
        self.len
    }

    /// Writes the text, ASCII (so valid UTF-8), straight into `out`: no buffer of its own.
    pub fn write(&self, out: &mut impl BufMut) {
        out.put_slice(self.header);
        for chunk in payload(self.seq, self.len - self.header.len()) {
            out.put_slice(chunk);
        }
    }
}

/// Formats the messages of one stream, keeping the header it wrote last: the next message
/// of the same stream and send time (outbound.rs shares send times) only has its sequence
/// number counted up in place and its seal written, which is a multiply-and-shift mix of
/// the sequence number into a hash of the other values, taken once. This runs for every
/// message a soak sends, so it formats bytes by hand.
#[derive(Debug, Default)]
pub struct Stamper {
    header: Header,
    /// The values the header holds, when it holds any.
    holds: Option<Stamp>,
    /// Where the sequence number's digits start, and how many there are.
    seq_at: usize,
    seq_digits: usize,
    /// The hash of the stream, send time and a length, for that length.
    base: Option<(usize, u64)>,
}

/// `seal.stream.seq.time.`, at most.
#[derive(Debug)]
struct Header {
    bytes: [u8; HEADER_MAX],
    len: usize,
}

impl Default for Header {
    fn default() -> Self {
        Self {
            bytes: [0; HEADER_MAX],
            len: 0,
        }
    }
}

impl Stamper {
    /// The message for `stamp`, padded to `size` bytes (never shorter than its header).
    pub fn encode(&mut self, stamp: Stamp, size: usize) -> Encoded<'_> {
        let next_of_held = self.holds.is_some_and(|held| {
            held.stream == stamp.stream
                && held.sent_ns == stamp.sent_ns
                && held.seq.checked_add(1) == Some(stamp.seq)
        });
        let digits = &mut self.header.bytes[self.seq_at..self.seq_at + self.seq_digits];
        // Counting up fails only when the digits carry out (f → 10): one digit more.
        if !(next_of_held && increment_hex(digits)) {
            self.write_fields(stamp);
        }
        self.holds = Some(stamp);
        let len = self.header.len.max(size);
        let base = match self.base {
            Some((for_len, base)) if for_len == len && next_of_held => base,
            _ => self.base.insert((len, seal_base(stamp, len))).1,
        };
        self.header.bytes[..8]
            .copy_from_slice(&ascii_nibbles(seal_mix(base, stamp.seq)).to_be_bytes());
        Encoded {
            header: &self.header.bytes[..self.header.len],
            seq: stamp.seq,
            len,
        }
    }

    /// Writes the header's fields after the seal.
    fn write_fields(&mut self, stamp: Stamp) {
        let header = &mut self.header.bytes;
        header[8] = b'.';
        let mut at = SEAL_FIELD;
        for (i, value) in [stamp.stream, stamp.seq, stamp.sent_ns]
            .into_iter()
            .enumerate()
        {
            let (text, digits) = leading_hex(value);
            if i == 1 {
                (self.seq_at, self.seq_digits) = (at, digits);
            }
            // All 16 bytes are stored: one fixed-size store instead of a copy of variable
            // length (a call to memcpy). The next field overwrites what follows the digits.
            header[at..at + 16].copy_from_slice(&text);
            at += digits;
            header[at] = b'.';
            at += 1;
        }
        self.header.len = at;
        self.base = None;
    }
}

/// Adds one to lowercase hex digits in place; false, and all zeros, when they carry out.
fn increment_hex(digits: &mut [u8]) -> bool {
    for digit in digits.iter_mut().rev() {
        match *digit {
            b'f' => *digit = b'0',
            b'9' => {
                *digit = b'a';
                return true;
            }
            _ => {
                *digit += 1;
                return true;
            }
        }
    }
    false
}

/// Appends the message for `stamp`, `size` bytes long (see [`Encoded`]), to `out`.
pub fn encode(stamp: Stamp, size: usize, out: &mut impl BufMut) {
    Stamper::default().encode(stamp, size).write(out);
}

/// What the seal covers: the three values and the message's length, so a changed digit,
/// a truncated echo or one padded further all fail it, with no pass over the text. The
/// payload is compared, not hashed: it follows from the sequence number.
fn seal(stamp: Stamp, len: usize) -> u32 {
    seal_mix(seal_base(stamp, len), stamp.seq)
}

/// xxh3 of the stream, the send time and the length: what the messages sent together share.
fn seal_base(stamp: Stamp, len: usize) -> u64 {
    let mut values = [0u8; 24];
    for (i, value) in [stamp.stream, stamp.sent_ns, len as u64]
        .into_iter()
        .enumerate()
    {
        values[i * 8..i * 8 + 8].copy_from_slice(&value.to_le_bytes());
    }
    xxhash_rust::xxh3::xxh3_64(&values)
}

/// The sequence number mixed into `base` by murmur3's 64-bit finaliser, a bijection whose
/// every input bit flips about half of the output's: two sequence numbers (or bases) that
/// differ give seals that differ but for one chance in 2^32.
fn seal_mix(base: u64, seq: u64) -> u32 {
    let mut x = base ^ seq.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    x as u32
}

/// The payload of message `seq`, `len` letters from the cycle: it depends on the sequence
/// number, so a payload swapped between messages fails the check as surely as a flipped
/// byte. Slices of [`LETTERS`], whose length is a multiple of the cycle.
fn payload(seq: u64, len: usize) -> impl Iterator<Item = &'static [u8]> {
    let mut offset = (seq % 26) as usize;
    let mut left = len;
    std::iter::from_fn(move || {
        (left > 0).then(|| {
            let take = left.min(LETTERS.len() - offset);
            let chunk = &LETTERS.as_bytes()[offset..offset + take];
            left -= take;
            offset = 0;
            chunk
        })
    })
}

/// The length of the message `encode` writes for `stamp` and `size`.
pub fn encoded_len(stamp: Stamp, size: usize) -> usize {
    // No header is longer: the size itself, with no digits counted (once per message sent).
    if size >= HEADER_MAX {
        return size;
    }
    let header = SEAL_FIELD
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

/// Parses lowercase hex up to the next dot, as `encode` writes it (1 to 16 digits, no
/// leading zero, so one value has one text); returns the value and the rest after the dot.
/// A byte at a time: for fields of a few digits, eight bytes at a time cost more (callgrind).
fn take_hex(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut value: u64 = 0;
    let mut digits = 0;
    while let Some(&digit) = bytes.get(digits).map(|&b| &HEX_VALUE[usize::from(b)]) {
        if digit > 15 {
            break;
        }
        value = value << 4 | u64::from(digit);
        digits += 1;
    }
    let canonical = digits == 1 || (2..=16).contains(&digits) && bytes[0] != b'0';
    (canonical && bytes.get(digits) == Some(&b'.')).then(|| (value, &bytes[digits + 1..]))
}

/// Decodes and verifies a message; `None` when it is not one of ours, unchanged.
pub fn decode(bytes: &[u8]) -> Option<Stamp> {
    let (seal_text, fields) = bytes.split_at_checked(SEAL_FIELD)?;
    let (stream, rest) = take_hex(fields)?;
    let (seq, rest) = take_hex(rest)?;
    let (sent_ns, mut rest) = take_hex(rest)?;
    let stamp = Stamp {
        stream,
        seq,
        sent_ns,
    };
    // The seal is compared as text, not parsed: the digits `encode` would write.
    let sealed = seal_text[..8] == ascii_nibbles(seal(stamp, bytes.len())).to_be_bytes()
        && seal_text[8] == b'.';
    let letters = payload(seq, rest.len()).all(|chunk| {
        let (echoed, after) = rest.split_at(chunk.len());
        rest = after;
        same::same(echoed, chunk)
    });
    (sealed && letters).then_some(stamp)
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

    /// The format, spelled out: `seal.stream.seq.time.` in lowercase hex, then letters
    /// from `a` + seq on, up to `size`.
    fn spelled_out(stamp: Stamp, size: usize) -> Vec<u8> {
        let fields = format!("{:x}.{:x}.{:x}.", stamp.stream, stamp.seq, stamp.sent_ns);
        let len = (SEAL_FIELD + fields.len()).max(size);
        let mut text = format!("{:08x}.{fields}", seal(stamp, len)).into_bytes();
        let header = text.len();
        while text.len() < len {
            let letter = (stamp.seq % 26) as usize + text.len() - header;
            text.push(b'a' + (letter % 26) as u8);
        }
        text
    }

    /// What `stamper` writes for `stamp`, asserted to be the format spelled out.
    fn stamped_as_spelled_out(stamper: &mut Stamper, stamp: Stamp, size: usize) -> Vec<u8> {
        let mut text = Vec::new();
        stamper.encode(stamp, size).write(&mut text);
        assert_eq!(
            String::from_utf8_lossy(&text),
            String::from_utf8_lossy(&spelled_out(stamp, size)),
            "{stamp:?}, size {size}"
        );
        text
    }

    #[test]
    fn a_stamper_writes_the_format_whatever_it_reuses_and_at_every_size() {
        let mut stamper = Stamper::default();
        let sizes = [0, 4, 30, 59, 60, 64, 100, 127, 128, 129, 200, 1000];
        for (i, size) in sizes.into_iter().enumerate() {
            // The stream changes once; a send time is reused, then changes, as in a run.
            let stream = if i < sizes.len() / 2 {
                7
            } else {
                0x1_0000_0001
            };
            for seq in [0, 1, 2, 25, 26, 27, 300, u64::MAX] {
                for sent_ns in [0, 0x1234_5678_9abc, 0x1234_5678_9abc, u64::MAX] {
                    let stamp = Stamp {
                        stream,
                        seq,
                        sent_ns,
                    };
                    let text = stamped_as_spelled_out(&mut stamper, stamp, size);
                    assert_eq!(decode(&text), Some(stamp));
                    assert_eq!(
                        encoded_len(stamp, size),
                        text.len(),
                        "{stamp:?}, size {size}"
                    );
                }
            }
        }
    }

    #[test]
    fn consecutive_messages_count_up_in_place_across_every_carry() {
        let mut stamper = Stamper::default();
        // 9 → a, f → 10, ff → 100, fffffff → 10000000, and the last sequence number.
        for first in [0, 0xfe0, 0xfff_ffe0, u64::MAX - 40] {
            for (i, seq) in (first..=first.saturating_add(40)).enumerate() {
                // The size changes now and then (the seal's hash covers the length), and
                // the send time every 8 messages, as outbound.rs shares it.
                let size = if i % 7 < 3 { 64 } else { 100 };
                let stamp = Stamp {
                    stream: 7,
                    seq,
                    sent_ns: 0x1234 + (i / 8) as u64,
                };
                stamped_as_spelled_out(&mut stamper, stamp, size);
            }
        }
    }

    #[test]
    fn encoded_len_is_the_written_length_up_to_the_longest_header() {
        let longest = Stamp {
            stream: u64::MAX,
            seq: u64::MAX,
            sent_ns: u64::MAX,
        };
        for size in [0, HEADER_MAX - 1, HEADER_MAX, HEADER_MAX + 1, 100] {
            let mut text = Vec::new();
            encode(longest, size, &mut text);
            assert_eq!(encoded_len(longest, size), text.len(), "size {size}");
        }
        assert_eq!(encoded_len(longest, 0), HEADER_MAX);
    }

    #[test]
    fn hex_digits_count_up_or_carry_out() {
        let mut digits = *b"19f";
        assert!(increment_hex(&mut digits));
        assert_eq!(&digits, b"1a0");
        let mut digits = *b"ff";
        assert!(!increment_hex(&mut digits));
        assert_eq!(&digits, b"00");
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
    fn an_echo_cut_short_or_padded_further_is_detected() {
        let text = message(3, 80);
        assert_eq!(decode(&text[..79]), None, "one byte short");
        // The next letter of the cycle: the payload alone would still look right.
        let mut longer = text.clone();
        longer.push(b'a' + (text[79] - b'a' + 1) % 26);
        assert_eq!(decode(&longer), None, "one byte more");
    }

    #[test]
    fn one_value_has_one_text() {
        // stream 7 written as 07, the payload one letter shorter to keep the length: the
        // same values and length, and still not what `encode` writes.
        let text = message(3, 80);
        let mut padded = text[..9].to_vec();
        padded.push(b'0');
        padded.extend_from_slice(&text[9..79]);
        assert_eq!(padded.len(), text.len());
        assert_eq!(decode(&padded), None);
        assert_eq!(take_hex(b"07.x"), None, "leading zero");
        assert_eq!(take_hex(b"00.x"), None, "leading zero");
    }

    #[test]
    fn payloads_differ_between_messages() {
        let (a, b) = (message(1, 80), message(2, 80));
        let header = |t: &[u8]| t.iter().rposition(|&b| b == b'.').map_or(0, |i| i + 1);
        let mut swapped = a[..header(&a)].to_vec();
        swapped.extend_from_slice(&b[header(&b)..]);
        assert_eq!(swapped.len(), a.len());
        assert_eq!(decode(&swapped), None);
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

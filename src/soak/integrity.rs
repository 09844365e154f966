//! What every soak message carries so that each echo can be checked: stream id, sequence
//! number, send time and a CRC-32 of all of it, as text (`s.n.t.crc.payload`), so any echo
//! server, of any language, returns it untouched inside its reply.
//!
//! The tracker turns the sequence numbers that come back into lost, duplicated, reordered
//! and corrupted counts.

use std::{collections::BTreeSet, fmt::Write as _};

use super::stats::Integrity;

/// The decoded header of an echoed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub stream: u64,
    pub seq: u64,
    /// When the message was (meant to be) sent, in nanoseconds since the run's epoch.
    pub sent_ns: u64,
}

/// Writes the message for `stamp`, padded to `size` bytes (never shorter than its header).
pub fn encode(stamp: Stamp, size: usize, out: &mut String) {
    out.clear();
    let _ = write!(
        out,
        "{:x}.{:x}.{:x}.",
        stamp.stream, stamp.seq, stamp.sent_ns
    );
    let header = out.len();
    out.push_str("00000000.");
    let payload_start = out.len();
    // The payload depends on the sequence number, so a payload swapped between messages
    // fails the checksum as surely as a flipped byte.
    let payload_len = size.saturating_sub(payload_start);
    out.extend((0..payload_len).map(|i| (b'a' + ((stamp.seq as usize + i) % 26) as u8) as char));
    let mut crc = crc32fast::Hasher::new();
    crc.update(&out.as_bytes()[..header]);
    crc.update(&out.as_bytes()[payload_start..]);
    let mut hex = [0u8; 8];
    let digest = crc.finalize();
    for (i, byte) in hex.iter_mut().enumerate() {
        *byte = b"0123456789abcdef"[(digest >> (28 - 4 * i)) as usize & 0xf];
    }
    out.replace_range(
        header..header + 8,
        std::str::from_utf8(&hex).unwrap_or("00000000"),
    );
}

/// Decodes and verifies a message; `None` when it is not one of ours, unchanged.
pub fn decode(text: &str) -> Option<Stamp> {
    let mut parts = text.splitn(5, '.');
    let (stream, seq, sent, crc, payload) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let mut hasher = crc32fast::Hasher::new();
    // The checksummed bytes are the first three fields with their dots, then the payload.
    hasher.update(&text.as_bytes()[..stream.len() + seq.len() + sent.len() + 3]);
    hasher.update(payload.as_bytes());
    if crc.len() != 8 || u32::from_str_radix(crc, 16).ok()? != hasher.finalize() {
        return None;
    }
    Some(Stamp {
        stream: u64::from_str_radix(stream, 16).ok()?,
        seq: u64::from_str_radix(seq, 16).ok()?,
        sent_ns: u64::from_str_radix(sent, 16).ok()?,
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

    fn message(seq: u64, size: usize) -> String {
        let mut out = String::new();
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
            let mut bytes = text.clone().into_bytes();
            bytes[i] = if bytes[i] == b'z' { b'y' } else { b'z' };
            let changed = String::from_utf8(bytes).unwrap_or_default();
            if changed != text {
                assert_eq!(decode(&changed), None, "byte {i} changed: {changed}");
            }
        }
        assert_eq!(decode("hello"), None);
        assert_eq!(decode(""), None);
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

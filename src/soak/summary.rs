//! Client-stream replies: the server's summary of what it received (`Received N messages:
//! ['…', '…']`, or Go's `[… …]`), checked item by item so a lost or duplicated message is
//! named as such, not as one bad reply. Each item is compared with the text the call sent,
//! read from the request's own DATA frames (its [`Record`]); only an item that differs has
//! its stamp decoded, which cost five times the comparison and was a sixth of a
//! client-stream soak's CPU.

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;

use super::{
    integrity::{self, Tracker},
    replies::{message_len, PREFIX},
    same::same,
};
use crate::codec::field;

/// Calls that may send more than this are checked by decoding alone (long-lived streams,
/// huge messages): a record holds all of a call's frames until its reply.
const RECORD_MAX: usize = 1 << 20;

/// The request DATA frames of a client-stream call, as its body handed them to HTTP/2 (a
/// reference each, no copy: request_body.rs), read once the reply is in. A copy of each text,
/// taken as it was encoded, cost a lock and two copies per message.
#[derive(Debug, Clone, Default)]
pub struct Record(Arc<Mutex<Vec<Bytes>>>);

impl Record {
    /// A record for a call that sends `bytes` in all, its framing included; none when that
    /// is unbounded (0: a long-lived stream) or too much to hold.
    pub fn for_call(bytes: usize) -> Option<Self> {
        (bytes > 0 && bytes <= RECORD_MAX).then(Self::default)
    }

    /// Keeps the next DATA frame sent: uncompressed gRPC messages, whole.
    pub fn push(&self, frame: &Bytes) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(frame.clone());
    }

    /// The frames kept so far, leaving none.
    pub(super) fn take(&self) -> Vec<Bytes> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Walks a record's texts in order, as long as the items match them.
struct Texts {
    frames: Vec<Bytes>,
    frame: usize,
    at: usize,
    seq: u64,
}

impl Texts {
    /// The next text and the bytes its message takes, when there is one.
    fn peek(&mut self) -> Option<(&[u8], usize)> {
        while self.frames.get(self.frame)?.len() == self.at {
            self.frame += 1;
            self.at = 0;
        }
        message_text(&self.frames[self.frame][self.at..])
    }

    /// Moves past the text [`Texts::peek`] gave; its sequence number.
    fn advance(&mut self, used: usize) -> u64 {
        self.at += used;
        self.seq += 1;
        self.seq - 1
    }

    /// The sequence number of the next text, when `item` is that text.
    fn next_if(&mut self, item: &[u8]) -> Option<u64> {
        let (text, used) = self.peek()?;
        (text == item).then(|| self.advance(used))
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

/// Checks the summary of stream `id`, which sent `sent` messages (recorded in `record`);
/// returns when the last message listed was sent, 0 when none is ours.
pub fn check(
    summary: &[u8],
    id: u64,
    sent: u64,
    record: Option<&Record>,
    tracker: &mut Tracker,
) -> u64 {
    const LIST: &[u8] = b" messages: [";
    let Some((count, list)) = summary
        .strip_prefix(b"Received ")
        .and_then(|rest| {
            let at = memchr::memmem::find(rest, LIST)?;
            Some((&rest[..at], &rest[at + LIST.len()..]))
        })
        .and_then(|(n, rest)| {
            let count = std::str::from_utf8(n).ok()?.parse::<usize>().ok()?;
            Some((count, rest.strip_suffix(b"]")?))
        })
    else {
        tracker.corrupted();
        return 0;
    };
    let mut texts = Texts {
        frames: record.map(Record::take).unwrap_or_default(),
        frame: 0,
        at: 0,
        seq: 0,
    };
    let mut last_sent_ns = 0;
    let mut last_matched = None;
    let mut items_seen = 0;
    let separator = separator_of(list);
    // The usual summary lists the texts sent, in order, as Python or Go write them: each is
    // checked where it must be, with no search for where items end (that search, a memchr
    // per item, and the trimming around it were over a third of the check).
    let mut rest = list;
    while let Some((text, used)) = texts.peek() {
        let Some((item, after)) = listed(rest, items_seen == 0, separator, text) else {
            break;
        };
        tracker.observe(texts.advance(used), sent);
        last_matched = Some(item);
        items_seen += 1;
        rest = after;
    }
    // Anything else, from where that stopped: item by item.
    let others = match (items_seen, rest) {
        (0, _) => (!list.is_empty()).then_some(list),
        (_, []) => None,
        (_, [_separator, more @ ..]) => Some(more),
    };
    for item in split_items(others, separator) {
        items_seen += 1;
        // The text we sent is what decoding it would find: the same stamp.
        if let Some(seq) = texts.next_if(item) {
            tracker.observe(seq, sent);
            last_matched = Some(item);
            continue;
        }
        match integrity::decode(item).filter(|stamp| stamp.stream == id) {
            Some(stamp) => {
                tracker.observe(stamp.seq, sent);
                last_sent_ns = last_sent_ns.max(stamp.sent_ns);
            }
            None => tracker.corrupted(),
        }
    }
    // Texts match in the order they were sent: the last one matched was sent last of them.
    if let Some(stamp) = last_matched.and_then(integrity::decode) {
        last_sent_ns = last_sent_ns.max(stamp.sent_ns);
    }
    if items_seen != count {
        tracker.corrupted();
    }
    last_sent_ns
}

/// The byte between the items of `list`: a comma in Python's form, a space in Go's.
fn separator_of(list: &[u8]) -> u8 {
    if list.first() == Some(&b'\'') {
        b','
    } else {
        b' '
    }
}

/// The items of a summary's `list` (`None`: no items; an empty list, what follows a
/// separator at the end, is one empty item). Our messages hold no quotes, commas, spaces or
/// backslashes, so both list forms split on one byte: Python's `'a', 'b'` at the commas,
/// Go's `a b` at the spaces; then spaces before an item and quotes around it go. memchr
/// finds the separators: a `str::split` by char cost more than checking the items.
fn split_items(list: Option<&[u8]>, separator: u8) -> impl Iterator<Item = &[u8]> {
    let mut rest = list;
    std::iter::from_fn(move || {
        let all = rest?;
        let item = match memchr::memchr(separator, all) {
            Some(at) => {
                rest = Some(&all[at + 1..]);
                &all[..at]
            }
            None => {
                rest = None;
                all
            }
        };
        let start = item.iter().position(|&b| b != b' ').unwrap_or(item.len());
        let item = &item[start..];
        let start = item.iter().position(|&b| b != b'\'').unwrap_or(item.len());
        let end = item
            .iter()
            .rposition(|&b| b != b'\'')
            .map_or(start, |i| i + 1);
        Some(&item[start..end.max(start)])
    })
}

/// `text` as the next item of a list written as Python or Go write it (`'a', 'b'`, `a b`)
/// at the start of `rest`: the item as [`split_items`] would give it, and the list after
/// it (at a separator or the end); none when the list does not go on that way.
fn listed<'a>(
    rest: &'a [u8],
    first: bool,
    separator: u8,
    text: &[u8],
) -> Option<(&'a [u8], &'a [u8])> {
    let quoted = separator == b',';
    let mut rest = rest;
    if !first {
        rest = rest.strip_prefix(&[separator])?;
        if quoted {
            rest = rest.strip_prefix(b" ")?;
        }
    }
    if quoted {
        rest = rest.strip_prefix(b"'")?;
    }
    let (item, mut rest) = rest.split_at_checked(text.len())?;
    if !same(item, text) {
        return None;
    }
    if quoted {
        rest = rest.strip_prefix(b"'")?;
    }
    rest.first()
        .is_none_or(|&b| b == separator)
        .then_some((item, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soak::{
        integrity::{self, Stamp},
        stats::Integrity,
    };

    /// All the items of a summary's list.
    fn items(list: &[u8]) -> impl Iterator<Item = &[u8]> {
        split_items((!list.is_empty()).then_some(list), separator_of(list))
    }

    #[test]
    fn items_are_those_of_a_split_and_trim() {
        let reference = |list: &str| -> Vec<String> {
            let python = list.starts_with('\'');
            list.split(if python { ',' } else { ' ' })
                .filter(|_| !list.is_empty())
                .map(|item| item.trim_start_matches(' ').trim_matches('\'').to_owned())
                .collect()
        };
        for list in [
            "",
            "'a', 'bc', 'd'",
            "a bc d",
            "'a'",
            "a",
            "''",
            "'', ''",
            "'a',,'b'",
            "a  b",
            " a",
            "'a' , 'b''",
            "\x27\x27\x27",
            "'a, b'",
            ",",
            " ",
            "' ', ' '",
            "' a', 'b '",
        ] {
            let ours: Vec<String> = items(list.as_bytes())
                .map(|item| String::from_utf8_lossy(item).into_owned())
                .collect();
            assert_eq!(ours, reference(list), "{list:?}");
        }
    }

    const STREAM: u64 = 7;

    /// Five messages of stream 7 (the third one a short one), sent at 100, 200, … ns, and
    /// a record of them: two DATA frames, of three messages and of two.
    fn sent() -> (Vec<String>, Record) {
        let record = Record::for_call(1000).expect("a bounded call has a record");
        let mut frame = Vec::new();
        let texts = (0..5)
            .map(|seq| {
                let stamp = Stamp {
                    stream: STREAM,
                    seq,
                    sent_ns: 100 * (seq + 1),
                };
                let mut text = Vec::new();
                integrity::encode(stamp, if seq == 2 { 0 } else { 64 }, &mut text);
                let mut body = Vec::new();
                field::put(&[&text], &mut body);
                frame.push(0);
                frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
                frame.extend_from_slice(&body);
                if seq == 2 || seq == 4 {
                    record.push(&Bytes::from(std::mem::take(&mut frame)));
                }
                String::from_utf8_lossy(&text).into_owned()
            })
            .collect();
        (texts, record)
    }

    #[test]
    fn the_record_gives_the_texts_back_in_order_across_its_frames() {
        let (texts, record) = sent();
        let mut walk = Texts {
            frames: record.take(),
            frame: 0,
            at: 0,
            seq: 0,
        };
        assert_eq!(walk.next_if(texts[1].as_bytes()), None, "not the next one");
        for (seq, text) in texts.iter().enumerate() {
            assert_eq!(walk.next_if(text.as_bytes()), Some(seq as u64));
        }
        assert_eq!(walk.next_if(texts[0].as_bytes()), None, "past the end");
        assert_eq!(message_text(&[0, 0, 0, 0, 9, 0x0a, 7]), None, "cut short");
    }

    /// What the check finds in a summary listing `items`, with the record and without.
    fn judged(items: &[&str], python: bool) -> [(Integrity, u64); 2] {
        let list = if python {
            items
                .iter()
                .map(|i| format!("'{i}'"))
                .collect::<Vec<_>>()
                .join(", ")
        } else {
            items.join(" ")
        };
        judged_list(&list, items.len())
    }

    /// What the check finds in a summary of `count` messages listing `list`, with the record
    /// and without.
    fn judged_list(list: &str, count: usize) -> [(Integrity, u64); 2] {
        let summary = format!("Received {count} messages: [{list}]");
        let (_, record) = sent();
        [Some(&record), None].map(|record| {
            let mut tracker = Tracker::default();
            let last = check(summary.as_bytes(), STREAM, 5, record, &mut tracker);
            (tracker.finish(5, true), last)
        })
    }

    #[test]
    fn lists_written_otherwise_are_judged_alike_with_the_record_or_without() {
        let (texts, _) = sent();
        let t: Vec<&str> = texts.iter().map(String::as_str).collect();
        let python = |items: &[&str], between: &str| {
            items
                .iter()
                .map(|i| format!("'{i}'"))
                .collect::<Vec<_>>()
                .join(between)
        };
        let lists = [
            python(&t, ", "),
            t.join(" "),
            format!("{},", python(&t, ", ")),
            format!("{} ", t.join(" ")),
            python(&t, ",  "),
            python(&t, ","),
            t.join("  "),
            format!("''{}'', {}", t[0], python(&t[1..], ", ")),
            format!("'{}'x, {}", t[0], python(&t[1..], ", ")),
            format!("{}, '{}'", python(&t, ", "), t[4]),
            format!("{} {}", t.join(" "), t[0]),
            python(&t[..3], ", "),
            String::new(),
        ];
        for list in &lists {
            for count in [5, items(list.as_bytes()).count()] {
                let [with, without] = judged_list(list, count);
                assert_eq!(with, without, "{list:?}, count {count}");
            }
        }
        let clean = (Integrity::default(), 500);
        assert_eq!(judged_list(&lists[0], 5), [clean; 2]);
        assert_eq!(judged_list(&lists[1], 5), [clean; 2]);
        assert_ne!(
            judged_list(&lists[2], 5)[0],
            clean,
            "a trailing comma: an empty item"
        );
    }

    #[test]
    fn only_calls_of_a_known_bounded_size_are_recorded() {
        assert!(Record::for_call(100 * 104).is_some());
        assert!(Record::for_call(0).is_none(), "a long-lived stream");
        assert!(
            Record::for_call(RECORD_MAX + 1).is_none(),
            "too much to hold"
        );
    }

    #[test]
    fn a_summary_of_what_was_sent_is_clean_either_way() {
        let (texts, _) = sent();
        let all: Vec<&str> = texts.iter().map(String::as_str).collect();
        for python in [true, false] {
            for found in judged(&all, python) {
                assert_eq!(found, (Integrity::default(), 500), "python {python}");
            }
        }
    }

    #[test]
    fn a_broken_summary_is_judged_alike_with_the_record_or_without() {
        let (texts, _) = sent();
        let t: Vec<&str> = texts.iter().map(String::as_str).collect();
        let corrupted = t[3].replacen('a', "b", 1);
        let (_, foreign) = {
            let mut text = Vec::new();
            integrity::encode(
                Stamp {
                    stream: STREAM + 1,
                    seq: 4,
                    sent_ns: 500,
                },
                64,
                &mut text,
            );
            ((), String::from_utf8_lossy(&text).into_owned())
        };
        let cases: Vec<(&str, Vec<&str>)> = vec![
            ("lost", vec![t[0], t[1], t[3], t[4]]),
            ("duplicated", vec![t[0], t[1], t[1], t[2], t[3], t[4]]),
            ("reordered", vec![t[0], t[2], t[1], t[3], t[4]]),
            ("corrupted", vec![t[0], t[1], t[2], &corrupted, t[4]]),
            ("another stream's", vec![t[0], t[1], t[2], t[3], &foreign]),
            ("cut short", vec![t[0], t[1], t[2], t[3], &t[4][..40]]),
        ];
        for (what, items) in cases {
            let [with, without] = judged(&items, true);
            assert_eq!(with, without, "{what}");
            assert_ne!(with.0, Integrity::default(), "{what}");
        }
    }
}

//! Client-stream replies: the server's summary of what it received (`Received N messages:
//! ['…', '…']`, or Go's `[… …]`), checked item by item so a lost or duplicated message is
//! named as such, not as one bad reply. Each item is compared with the text the call sent,
//! read from the request's own DATA frames (its [`Ledger`]); only an item that differs has
//! its stamp decoded, which cost five times the comparison and was a sixth of a
//! client-stream soak's CPU.

use super::{
    integrity::{self, Tracker},
    ledger::{Ledger, Texts},
    same::same,
};

/// Checks the summary of stream `id`, which sent `sent` messages (kept in `ledger`);
/// returns when the last message listed was sent, 0 when none is ours.
pub fn check(
    summary: &[u8],
    id: u64,
    sent: u64,
    ledger: Option<Ledger>,
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
    let mut texts = Texts::new(ledger.unwrap_or_else(|| Ledger::new(0)));
    let mut last_sent_ns = 0;
    let mut last_matched = None;
    let mut items_seen = 0;
    let separator = separator_of(list);
    // The usual summary lists the texts sent, in order, as Python or Go write them: each is
    // checked where it must be, with no search for where items end (that search, a memchr
    // per item, and the trimming around it were over a third of the check).
    let mut rest = list;
    while let Some((text, used)) = texts.peek() {
        let Some(after) = listed(rest, items_seen == 0, separator, text) else {
            break;
        };
        let Some(matched) = texts.advance(used) else {
            break;
        };
        tracker.observe(matched.seq, sent);
        last_matched = Some(matched);
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
        if let Some(matched) = texts.next_if(item) {
            tracker.observe(matched.seq, sent);
            last_matched = Some(matched);
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
    if let Some(matched) = last_matched {
        last_sent_ns = last_sent_ns.max(matched.sent_ns);
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

/// The list after `text`, when `text` is the next item of a list written as Python or Go
/// write it (`'a', 'b'`, `a b`) at the start of `rest`, as [`split_items`] would give it
/// (the rest starts at a separator or is empty); none when the list does not go on that way.
fn listed<'a>(rest: &'a [u8], first: bool, separator: u8, text: &[u8]) -> Option<&'a [u8]> {
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
    rest.first().is_none_or(|&b| b == separator).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soak::{
        integrity::{self, Stamp},
        ledger::fixture::{sent, STREAM},
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
        [Some(sent().1), None].map(|ledger| {
            let mut tracker = Tracker::default();
            let last = check(summary.as_bytes(), STREAM, 5, ledger, &mut tracker);
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

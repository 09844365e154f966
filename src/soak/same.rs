//! Equality of the short byte strings soak compares for every message (an echo's reply
//! prefix and payload, a summary's items), inline: `==` on slices calls libc's memcmp, whose
//! call and dispatch cost more than the comparison at these lengths (memcmp was 5% of a
//! bidi-sync soak's CPU time, perf, for 3 calls of 11 to 40 bytes per echo).

/// Past this length a call to memcmp is cheap beside the comparison itself.
const INLINE_MAX: usize = 128;

/// `a == b`.
#[inline]
pub fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n > INLINE_MAX {
        return a == b;
    }
    if let (Some(a_tail), Some(b_tail)) = (a.last_chunk::<16>(), b.last_chunk::<16>()) {
        // Sixteen bytes at a time, the last sixteen overlapping the chunk before them. The
        // chunks are 16 bytes long, so `first_chunk` always finds them.
        let word = |chunk: &[u8]| {
            chunk
                .first_chunk::<16>()
                .map_or(0, |c| u128::from_ne_bytes(*c))
        };
        let diff = a
            .chunks_exact(16)
            .zip(b.chunks_exact(16))
            .fold(word(a_tail) ^ word(b_tail), |acc, (x, y)| {
                acc | (word(x) ^ word(y))
            });
        return diff == 0;
    }
    if let (Some(a_tail), Some(b_tail)) = (a.last_chunk::<8>(), b.last_chunk::<8>()) {
        let (a_head, b_head) = (a.first_chunk::<8>(), b.first_chunk::<8>());
        return a_tail == b_tail && a_head == b_head;
    }
    a.iter().zip(b).all(|(x, y)| x == y)
}

/// `text.strip_prefix(prefix)`.
#[inline]
pub fn strip_prefix<'a>(text: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let (head, rest) = text.split_at_checked(prefix.len())?;
    same(head, prefix).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_exactly_when_slices_are() {
        let base: Vec<u8> = (0..=INLINE_MAX as u8 + 40).map(|i| b'a' + i % 26).collect();
        for n in 0..base.len() {
            let a = &base[..n];
            assert!(same(a, a), "{n} bytes");
            assert!(same(a, &base.clone()[..n]), "{n} bytes, another copy");
            for at in 0..n {
                let mut b = a.to_vec();
                b[at] ^= 0x20;
                assert!(!same(a, &b), "{n} bytes, byte {at} differs");
            }
            assert!(!same(a, &base[..n + 1]), "{n} against {} bytes", n + 1);
        }
    }

    #[test]
    fn a_prefix_is_stripped_only_when_it_is_there() {
        assert_eq!(
            strip_prefix(b"Sync Echo: x", b"Sync Echo: "),
            Some(&b"x"[..])
        );
        assert_eq!(strip_prefix(b"Sync Echo: ", b"Sync Echo: "), Some(&b""[..]));
        assert_eq!(strip_prefix(b"Sync Echo:", b"Sync Echo: "), None);
        assert_eq!(strip_prefix(b"Async Echo: x", b"Sync Echo: "), None);
        assert_eq!(strip_prefix(b"anything", b""), Some(&b"anything"[..]));
    }
}

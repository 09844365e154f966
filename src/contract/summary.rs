//! The EchoClientStream reply text, byte-identical to the Python server's `repr(list_of_str)`.

use std::fmt::Write as _;

use unicode_general_category::{get_general_category, GeneralCategory};

/// Lowercase hex digits, as CPython writes them in `\x`, `\u` and `\U` escapes.
const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Builds the EchoClientStream reply for the collected `messages`.
///
/// The result is byte-identical to the original Python server's
/// `f"Received {len(messages)} messages: {messages}"`, where `messages` was a
/// `list` of `str`: the list part is exactly CPython 3's `repr(list)`, i.e.
/// `[` + the `repr` of each item joined by `", "` + `]`.
///
/// `client_stream_summary(&[])` is `"Received 0 messages: []"`; two messages
/// `a` and `b` give `"Received 2 messages: ['a', 'b']"`.
pub fn client_stream_summary<S: AsRef<str>>(messages: &[S]) -> String {
    // "Received " + count + " messages: [" + "]" fit in 48 bytes; each item
    // needs at least its own bytes, two quotes and a ", " separator. Escapes
    // may grow an item further, which `python_str_repr` reserves for itself.
    let items: usize = messages.iter().map(|m| m.as_ref().len() + 4).sum();
    let mut out = String::with_capacity(48 + items);
    out.push_str("Received ");
    // Formatting into a `String` cannot fail; the `fmt::Result` is always `Ok`.
    let _ = write!(out, "{}", messages.len());
    out.push_str(" messages: [");
    for (i, message) in messages.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        python_str_repr(message.as_ref(), &mut out);
    }
    out.push(']');
    out
}

/// Appends CPython 3's `repr(s)` of one `str` to `out`.
///
/// Mirrors `unicode_repr` in CPython's `Objects/unicodeobject.c`:
/// - the quote is `'`, unless `s` contains `'` and no `"`, then it is `"`;
/// - `\` and the chosen quote are escaped with a backslash;
/// - tab, newline and carriage return become `\t`, `\n`, `\r`;
/// - other chars below U+0020 and U+007F become `\xNN`;
/// - non-ASCII chars that Python considers printable are written as they are;
///   the others become `\xNN` (up to U+00FF), `\uNNNN` (up to U+FFFF) or
///   `\UNNNNNNNN`, always in lowercase, zero-padded hex.
///
/// Runs of chars that need no escaping are copied as whole slices, so the
/// cost is one pass over `s` (plus the quote scan) and no allocation beyond
/// growing `out`.
pub fn python_str_repr(s: &str, out: &mut String) {
    let bytes = s.as_bytes();
    // The common case, plain printable ASCII without quotes or backslashes, is copied as it
    // is: a byte scan the compiler vectorises, instead of the per-char loop below.
    // A fold, not `all`: no early exit, so it runs on whole vectors.
    let plain = bytes.iter().fold(true, |plain, &b| {
        plain & (b.wrapping_sub(b' ') < 95) & (b != b'\\') & (b != b'\'')
    });
    if plain {
        out.reserve(s.len() + 2);
        out.push('\'');
        out.push_str(s);
        out.push('\'');
        return;
    }
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    out.reserve(s.len() + 2);
    out.push(quote);

    let mut run_start = 0;
    for (i, c) in s.char_indices() {
        let needs_escape = if c.is_ascii() {
            c < ' ' || c == '\x7f' || c == '\\' || c == quote
        } else {
            !is_printable_non_ascii(c)
        };
        if !needs_escape {
            continue;
        }
        out.push_str(&s[run_start..i]);
        run_start = i + c.len_utf8();
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            _ if c == quote => {
                out.push('\\');
                out.push(quote);
            }
            _ => push_hex_escape(c, out),
        }
    }
    out.push_str(&s[run_start..]);
    out.push(quote);
}

/// Python's `Py_UNICODE_ISPRINTABLE` for a non-ASCII char: everything except
/// the general categories Cc, Cf, Cs, Co, Cn, Zl, Zp and Zs (the one printable
/// space separator, U+0020, is ASCII and never reaches this function).
fn is_printable_non_ascii(c: char) -> bool {
    !matches!(
        get_general_category(c),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::Surrogate
            | GeneralCategory::PrivateUse
            | GeneralCategory::Unassigned
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::SpaceSeparator
    )
}

/// Writes `c` as `\xNN`, `\uNNNN` or `\UNNNNNNNN`, the shortest of the three
/// that holds its code point, in lowercase zero-padded hex.
fn push_hex_escape(c: char, out: &mut String) {
    let cp = u32::from(c);
    let (prefix, digits) = if cp <= 0xff {
        ("\\x", 2)
    } else if cp <= 0xffff {
        ("\\u", 4)
    } else {
        ("\\U", 8)
    };
    out.push_str(prefix);
    for shift in (0..digits).rev() {
        // The mask keeps the index below 16, so it is always in bounds.
        let nibble = (cp >> (shift * 4)) & 0xf;
        out.push(char::from(HEX_DIGITS[nibble as usize]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::io::Write as _;
    use std::process::{Command, Stdio};

    fn repr(s: &str) -> String {
        let mut out = String::new();
        python_str_repr(s, &mut out);
        out
    }

    fn summary(messages: &[&str]) -> String {
        let owned: Vec<String> = messages.iter().map(|m| (*m).to_owned()).collect();
        client_stream_summary(&owned)
    }

    // ---- fixed expectations (byte for byte, as printed by CPython 3.11) ----

    #[test]
    fn empty_list() {
        assert_eq!(summary(&[]), "Received 0 messages: []");
    }

    #[test]
    fn plain_ascii_messages() {
        assert_eq!(summary(&["a", "b"]), "Received 2 messages: ['a', 'b']");
        assert_eq!(
            summary(&["hello world", "", "x y z 123"]),
            "Received 3 messages: ['hello world', '', 'x y z 123']"
        );
    }

    #[test]
    fn single_quote_switches_to_double_quotes() {
        assert_eq!(repr("it's"), "\"it's\"");
        assert_eq!(repr("'"), "\"'\"");
        assert_eq!(
            summary(&["don't", "ok"]),
            "Received 2 messages: [\"don't\", 'ok']"
        );
    }

    #[test]
    fn both_quotes_keep_single_quotes_and_escape_them() {
        assert_eq!(repr("it's \"x\""), "'it\\'s \"x\"'");
        assert_eq!(repr("'\""), "'\\'\"'");
        // Only a double quote: single quotes, double quote left as is.
        assert_eq!(repr("say \"hi\""), "'say \"hi\"'");
    }

    #[test]
    fn backslash_is_doubled() {
        assert_eq!(repr("a\\b"), "'a\\\\b'");
        assert_eq!(repr("\\'"), "\"\\\\'\"");
    }

    #[test]
    fn newline_tab_carriage_return() {
        assert_eq!(repr("\n\t\r"), "'\\n\\t\\r'");
        assert_eq!(repr("a\nb"), "'a\\nb'");
    }

    #[test]
    fn nul_and_del_become_x_escapes() {
        assert_eq!(repr("\x00"), "'\\x00'");
        assert_eq!(repr("\x7f"), "'\\x7f'");
        assert_eq!(repr("\x1b[0m"), "'\\x1b[0m'");
        assert_eq!(repr("\x0b\x0c"), "'\\x0b\\x0c'");
    }

    #[test]
    fn latin1_non_printables_become_x_escapes() {
        assert_eq!(repr("\u{85}"), "'\\x85'"); // Cc (NEL)
        assert_eq!(repr("\u{a0}"), "'\\xa0'"); // Zs (NO-BREAK SPACE)
        assert_eq!(repr("\u{ad}"), "'\\xad'"); // Cf (SOFT HYPHEN)
    }

    #[test]
    fn printable_non_ascii_is_kept() {
        assert_eq!(repr("é"), "'é'");
        assert_eq!(repr("中文字符"), "'中文字符'");
        assert_eq!(repr("😀"), "'😀'");
        assert_eq!(
            summary(&["café", "日本", "👍🏽"]),
            "Received 3 messages: ['café', '日本', '👍🏽']"
        );
    }

    #[test]
    fn bmp_non_printables_become_u_escapes() {
        assert_eq!(repr("\u{200b}"), "'\\u200b'"); // Cf (ZERO WIDTH SPACE)
        assert_eq!(repr("\u{2028}"), "'\\u2028'"); // Zl (LINE SEPARATOR)
        assert_eq!(repr("\u{2029}"), "'\\u2029'"); // Zp (PARAGRAPH SEPARATOR)
        assert_eq!(repr("\u{e000}"), "'\\ue000'"); // Co (private use)
        assert_eq!(repr("\u{3000}"), "'\\u3000'"); // Zs (IDEOGRAPHIC SPACE)
        assert_eq!(repr("\u{feff}"), "'\\ufeff'"); // Cf (BOM)
    }

    #[test]
    fn supplementary_non_printables_become_big_u_escapes() {
        assert_eq!(repr("\u{f0000}"), "'\\U000f0000'"); // Co (plane 15)
        assert_eq!(repr("\u{10ffff}"), "'\\U0010ffff'"); // Cn (noncharacter)
        assert_eq!(repr("\u{e0001}"), "'\\U000e0001'"); // Cf (LANGUAGE TAG)
    }

    #[test]
    fn repr_appends_without_clearing() {
        let mut out = String::from("x=");
        python_str_repr("a'b", &mut out);
        python_str_repr("", &mut out);
        assert_eq!(out, "x=\"a'b\"''");
    }

    #[test]
    fn mixed_message_in_summary() {
        assert_eq!(
            summary(&["it's\n", "tab\there", "\u{200b}é\\"]),
            "Received 3 messages: [\"it's\\n\", 'tab\\there', '\\u200bé\\\\']"
        );
    }

    // ---- cross-check against the real CPython on PATH ----

    /// Reads one code point per line (hex) and prints its Unicode general
    /// category as Python's `unicodedata` (Unicode 14 for Python 3.11) sees it.
    const PY_CATEGORIES: &str = r#"
import sys, unicodedata
cps = [int(l, 16) for l in sys.stdin.read().split()]
sys.stdout.write("".join(unicodedata.category(chr(cp)) + "\n" for cp in cps))
"#;

    /// Reads one `s:<utf-8 hex>` line per message, then prints (hex of UTF-8)
    /// the `repr` of every message, one per line, and finally the whole reply
    /// exactly as the original server built it. Hex on both ways keeps the
    /// pipe independent of the locale and of any newline inside a message.
    const PY_REPRS: &str = r#"
import sys
messages = []
for line in sys.stdin.read().split("\n"):
    if line.startswith("s:"):
        messages.append(bytes.fromhex(line[2:]).decode("utf-8"))
out = [repr(m).encode("utf-8").hex() for m in messages]
out.append(f"Received {len(messages)} messages: {messages}".encode("utf-8").hex())
sys.stdout.write("\n".join(out) + "\n")
"#;

    type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

    /// Runs `python3 -c script` with `input` on stdin and returns its stdout.
    /// Fails the test with a clear message when python3 is missing or fails:
    /// the cross-check must never pass silently.
    fn run_python(script: &str, input: String) -> TestResult<String> {
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                format!(
                    "cross-check needs `python3` on PATH (the reference for repr(list_of_str)), \
                     but it could not be started: {e}"
                )
            })?;
        let mut stdin = child.stdin.take().ok_or("python3 stdin is not piped")?;
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        let output = child.wait_with_output()?;
        writer
            .join()
            .map_err(|_| "the python3 stdin writer thread panicked")??;
        assert!(
            output.status.success(),
            "python3 failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(String::from_utf8(output.stdout)?)
    }

    fn to_hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn from_hex_utf8(hex: &str) -> TestResult<String> {
        assert!(hex.len() % 2 == 0, "odd hex length from python3: {hex:?}");
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()?;
        Ok(String::from_utf8(bytes)?)
    }

    /// Minimal deterministic 64-bit LCG (Knuth's MMIX constants).
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 33) % n as u64) as usize
        }
    }

    /// Code points worth checking beyond 0..=0x3ff: every printability
    /// category boundary that matters, plus ranges assigned after Unicode 14.
    const HIGH_RANGES: &[(u32, u32)] = &[
        (0x0600, 0x0620),     // Arabic: Cf number signs, U+061C ALM
        (0x0870, 0x08a0),     // Arabic Extended-B: partly new in Unicode 14
        (0x1680, 0x1681),     // OGHAM SPACE MARK (Zs)
        (0x180b, 0x1810),     // Mongolian FVS / vowel separator (Mn, Cf)
        (0x1ab0, 0x1b00),     // combining marks with an unassigned tail
        (0x2000, 0x2070),     // General Punctuation: Zs, Cf, Zl, Zp
        (0x20c0, 0x20c2),     // U+20C0 SOM SIGN (new in Unicode 14), then unassigned
        (0x2e50, 0x2e60),     // Supplemental Punctuation tail (new in 14)
        (0x3000, 0x3010),     // IDEOGRAPHIC SPACE and CJK punctuation
        (0x31e4, 0x31f0),     // CJK strokes: U+31E4/5 new in Unicode 16
        (0x4e00, 0x4e10),     // CJK ideographs
        (0xd7f8, 0xd800),     // Hangul Jamo Extended-B tail, then surrogates
        (0xe000, 0xe008),     // private use (Co)
        (0xf8f8, 0xf900),     // end of the BMP private use area
        (0xfdcf, 0xfdf0),     // noncharacters U+FDD0..U+FDEF (Cn)
        (0xfe00, 0xfe10),     // variation selectors (Mn)
        (0xfeff, 0xff00),     // BOM (Cf)
        (0xfff0, 0x10000),    // specials: Cn, Cf annotations, U+FFFD, U+FFFF
        (0x10000, 0x10010),   // Linear B
        (0x110bd, 0x110be),   // KAITHI NUMBER SIGN (Cf)
        (0x11f00, 0x11f10),   // Kawi (new in Unicode 15)
        (0x13430, 0x13460),   // Egyptian format controls (Cf, extended in 15)
        (0x1d173, 0x1d17b),   // musical symbol format controls (Cf)
        (0x1f300, 0x1f310),   // emoji
        (0x1f600, 0x1f610),   // emoji
        (0x1fa70, 0x1fb00),   // Symbols and Pictographs Extended-A (grows each version)
        (0x20000, 0x20008),   // CJK Extension B
        (0x2a6d8, 0x2a6e2),   // Extension B end (U+2A6DE/F new in Unicode 14)
        (0x2ebf0, 0x2ec00),   // Extension I (new in Unicode 15.1)
        (0x31340, 0x31360),   // Extension H (new in Unicode 15)
        (0xe0000, 0xe0082),   // tags (Cf) and unassigned around them
        (0xe0100, 0xe0108),   // variation selectors supplement (Mn)
        (0xeffff, 0xf0008),   // Cn then plane-15 private use
        (0xffffa, 0x100004),  // plane-15 noncharacters, plane-16 private use
        (0x10fff8, 0x110000), // plane-16 private use, noncharacters
    ];

    /// The cross-check corpus: every char 0..=0x3ff, the `HIGH_RANGES`, and
    /// pseudo-random mixes of them with quotes, backslashes and controls.
    ///
    /// Unicode versions: Python 3.11 ships Unicode 14, unicode-general-category
    /// ships a newer version (16 at the time of writing). A code point assigned
    /// after Unicode 14 is Cn (→ escaped) in Python 3.11 but may be printable
    /// (→ kept) here, as in a Python built on the newer data (3.14 uses Unicode
    /// 16); that is a difference in Unicode data, not in the repr algorithm.
    /// So we ask Python for each candidate's category first and drop from the
    /// corpus exactly the code points whose *assignedness* differs (Cn on one
    /// side only). Code points unassigned in both, and all code points assigned
    /// in both, stay in the corpus and must match byte for byte, so the Cn rule
    /// itself is still checked. The test prints how many were dropped.
    fn corpus_code_points() -> TestResult<(Vec<char>, Vec<char>)> {
        let candidates: Vec<char> = (0..=0x3ffu32)
            .chain(HIGH_RANGES.iter().flat_map(|&(lo, hi)| lo..hi))
            .filter_map(char::from_u32) // drops the surrogates U+D800..U+DFFF
            .collect();
        let input: String = candidates
            .iter()
            .map(|&c| format!("{:x}\n", u32::from(c)))
            .collect();
        let categories = run_python(PY_CATEGORIES, input)?;
        let categories: Vec<&str> = categories.lines().collect();
        assert_eq!(
            categories.len(),
            candidates.len(),
            "python3 returned one category per code point"
        );
        let mut kept = Vec::with_capacity(candidates.len());
        let mut skipped = Vec::new();
        for (&c, &py_category) in candidates.iter().zip(&categories) {
            let py_unassigned = py_category == "Cn";
            let rust_unassigned = get_general_category(c) == GeneralCategory::Unassigned;
            if py_unassigned == rust_unassigned {
                kept.push(c);
            } else {
                skipped.push(c);
            }
        }
        Ok((kept, skipped))
    }

    fn build_corpus(chars: &[char]) -> Vec<String> {
        let mut corpus: Vec<String> = vec![
            String::new(),
            "plain ascii".to_owned(),
            "'".to_owned(),
            "\"".to_owned(),
            "'\"".to_owned(),
            "\\".to_owned(),
            "\\'\\\"".to_owned(),
            "it's".to_owned(),
            "\"quoted\"".to_owned(),
        ];
        // Every kept code point, 16 per message.
        for chunk in chars.chunks(16) {
            corpus.push(chunk.iter().collect());
        }
        // Pseudo-random mixes: kept code points interleaved with the
        // characters that drive quote choice and escaping.
        const SPICE: &[char] = &[
            '\'', '"', '\\', '\n', '\t', '\r', '\0', '\x7f', ' ', 'a', 'Z', '0',
        ];
        let mut lcg = Lcg(0x5eed_c0ff_ee00);
        for _ in 0..300 {
            let len = lcg.below(24);
            let mut s = String::new();
            for _ in 0..len {
                let c = if lcg.below(3) == 0 {
                    SPICE[lcg.below(SPICE.len())]
                } else {
                    chars[lcg.below(chars.len())]
                };
                s.push(c);
            }
            corpus.push(s);
        }
        corpus
    }

    #[test]
    fn matches_cpython_repr() -> TestResult {
        let (chars, skipped) = corpus_code_points()?;
        // Must still cover the important non-printables (none changed between
        // Unicode 14 and later versions).
        for must in [
            '\u{85}', '\u{a0}', '\u{ad}', '\u{200b}', '\u{2028}', '\u{e000}',
        ] {
            assert!(chars.contains(&must), "corpus lost {must:?}");
        }
        let corpus = build_corpus(&chars);

        let input: String = corpus
            .iter()
            .map(|s| format!("s:{}\n", to_hex(s.as_bytes())))
            .collect();
        let stdout = run_python(PY_REPRS, input)?;
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(
            lines.len(),
            corpus.len() + 1,
            "python3 returned one repr per message plus the summary"
        );

        let mut mismatches = Vec::new();
        for (s, line) in corpus.iter().zip(&lines) {
            let expected = from_hex_utf8(line)?;
            let actual = repr(s);
            if actual != expected {
                mismatches.push(format!(
                    "  input {s:?}\n    python {expected}\n    rust   {actual}"
                ));
            }
        }
        assert!(
            mismatches.is_empty(),
            "{} of {} strings differ from CPython's repr:\n{}",
            mismatches.len(),
            corpus.len(),
            mismatches.join("\n")
        );

        let expected_summary = from_hex_utf8(lines[corpus.len()])?;
        assert_eq!(client_stream_summary(&corpus), expected_summary);

        eprintln!(
            "cross-checked {} strings ({} code points) against python3; \
             skipped {} code points whose assignment differs between Python's \
             Unicode data and unicode-general-category {:?}",
            corpus.len(),
            chars.len(),
            skipped.len(),
            unicode_general_category::UNICODE_VERSION,
        );
        Ok(())
    }
}

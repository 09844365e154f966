//! The `message` field of EchoRequest and EchoResponse (both `{string message = 1}`), read
//! and written in place as prost reads and writes it, with no String per message. serve's
//! codec (requests in, replies out) and soak's (requests out, echoes in) use it on their
//! hot paths; the differential fuzz targets in tests/fuzz.rs hold it to prost.

use bytes::{Buf, BufMut};
use prost::encoding::{
    check_wire_type, decode_key, decode_varint, encode_varint, encoded_len_varint, skip_field,
    DecodeContext, WireType,
};
use tonic::Status;

/// Field 1 (`message`), wire type 2 (length-delimited).
const MESSAGE_KEY: u8 = 1 << 3 | 2;

/// Writes a message whose text is `parts` joined, as prost writes it: key, length, bytes,
/// and nothing at all for an empty text (proto3 omits default values).
pub fn put(parts: &[&[u8]], dst: &mut impl BufMut) {
    let len: usize = parts.iter().map(|part| part.len()).sum();
    if len == 0 {
        return;
    }
    put_key(len, dst);
    for part in parts {
        dst.put_slice(part);
    }
}

/// The size of an encoded message whose text has `len` bytes: a proto3 string field is one
/// key byte, the length as a varint and the bytes (nothing at all when empty).
pub fn encoded_len(len: usize) -> usize {
    match len {
        0 => 0,
        len => 1 + encoded_len_varint(len as u64) + len,
    }
}

/// Writes the key and length of a message whose text, `len` bytes and not empty, the
/// caller writes next.
pub fn put_key(len: usize, dst: &mut impl BufMut) {
    dst.put_u8(MESSAGE_KEY);
    encode_varint(len as u64, dst);
}

/// The text of an encoded `message_name` (EchoRequest or EchoResponse), as prost decodes
/// it: the last `message` wins, unknown fields are skipped, and every `message` must be
/// UTF-8, not only the one that wins. Empty when absent. Errors are INTERNAL, as tonic
/// reports prost's.
pub fn read<'a>(body: &'a [u8], message_name: &str) -> Result<&'a [u8], Status> {
    match only_field(body) {
        Some(text) => utf8(text, message_name),
        None => read_fields(body, message_name),
    }
}

/// The text of the usual body, the one field and nothing else (a key byte and a length),
/// not checked for UTF-8; `None` for any other body.
#[inline]
pub fn only_field(body: &[u8]) -> Option<&[u8]> {
    let [MESSAGE_KEY, rest @ ..] = body else {
        return None;
    };
    // Texts under 128 bytes have a one-byte length: no varint loop (every message of serve's
    // and soak's usual 64-byte runs).
    if let [len @ 0..0x80, text @ ..] = rest {
        return (usize::from(*len) == text.len()).then_some(text);
    }
    let mut text = rest;
    decode_varint(&mut text)
        .is_ok_and(|len| len == text.len() as u64)
        .then_some(text)
}

fn read_fields<'a>(mut body: &'a [u8], message_name: &str) -> Result<&'a [u8], Status> {
    let invalid = |e: prost::DecodeError| Status::internal(e.to_string());
    let mut text: &[u8] = &[];
    while body.has_remaining() {
        let (tag, wire_type) = decode_key(&mut body).map_err(invalid)?;
        if tag != 1 {
            skip_field(wire_type, tag, &mut body, DecodeContext::default()).map_err(invalid)?;
            continue;
        }
        check_wire_type(WireType::LengthDelimited, wire_type).map_err(invalid)?;
        let len = decode_varint(&mut body).map_err(invalid)?;
        let len = usize::try_from(len)
            .ok()
            .filter(|&len| len <= body.len())
            .ok_or_else(|| {
                Status::internal(format!(
                    "failed to decode Protobuf message: {message_name}.message: buffer underflow"
                ))
            })?;
        (text, body) = body.split_at(len);
        utf8(text, message_name)?;
    }
    Ok(text)
}

/// `text` when it is UTF-8; prost's error otherwise.
fn utf8<'a>(text: &'a [u8], message_name: &str) -> Result<&'a [u8], Status> {
    // ASCII, the usual text, is much cheaper to confirm than UTF-8.
    if is_ascii(text) || std::str::from_utf8(text).is_ok() {
        Ok(text)
    } else {
        Err(Status::internal(format!(
            "failed to decode Protobuf message: {message_name}.message: invalid string value: data is not UTF-8 encoded"
        )))
    }
}

/// `text.is_ascii()`, 16 bytes at a time with the tail read as the last 16 bytes: for the
/// tens of bytes of a usual message, 32 instructions where std's takes 95 (callgrind, 75 bytes).
fn is_ascii(text: &[u8]) -> bool {
    let Some(tail) = text.len().checked_sub(16) else {
        return text.is_ascii();
    };
    let word = |bytes: &[u8]| u128::from_ne_bytes(bytes.try_into().unwrap_or([0x80; 16]));
    let high_bits = text
        .chunks_exact(16)
        .fold(word(&text[tail..]), |acc, chunk| acc | word(chunk));
    high_bits & u128::from_ne_bytes([0x80; 16]) == 0
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;
    use crate::proto::{EchoRequest, EchoResponse};

    #[test]
    fn writes_as_prost_writes() {
        for text in ["", "a", "Sync Echo: hello", &"x".repeat(70_000)] {
            let mut ours = Vec::new();
            let (head, tail) = text.split_at(text.len() / 2);
            put(&[head.as_bytes(), tail.as_bytes()], &mut ours);
            let prost = EchoResponse {
                message: text.into(),
            };
            assert_eq!(ours, prost.encode_to_vec(), "{} bytes", text.len());
        }
    }

    #[test]
    fn unknown_fields_are_skipped_and_the_last_message_wins() -> Result<(), Status> {
        // field 2 varint 150, field 3 fixed64, field 4 bytes "xy", then two `message`s.
        let mut body = vec![
            0x10, 0x96, 0x01, 0x19, 1, 2, 3, 4, 5, 6, 7, 8, 0x22, 2, b'x', b'y',
        ];
        for text in ["stale", "wins"] {
            EchoRequest {
                message: text.into(),
            }
            .encode(&mut body)
            .map_err(|e| Status::internal(e.to_string()))?;
        }
        assert_eq!(read(&body, "EchoRequest")?, b"wins");
        assert_eq!(read(&[], "EchoRequest")?, b"");
        Ok(())
    }

    #[test]
    fn is_ascii_agrees_with_std_at_every_length_and_position() {
        for len in 0..100 {
            let mut text = vec![b'a'; len];
            assert!(is_ascii(&text), "{len} bytes");
            for at in 0..len {
                text[at] = 0xc3;
                assert!(!is_ascii(&text), "byte {at} of {len}");
                text[at] = b'a';
            }
        }
    }

    #[test]
    fn a_lone_field_reads_as_prost_reads_it() -> Result<(), Status> {
        let text = |n: usize| {
            EchoRequest {
                message: "x".repeat(n),
            }
            .encode_to_vec()
        };
        // The length in one byte up to 127, two from 128.
        let (long, one_byte, two_bytes) = (text(300), text(127), text(128));
        let field_then_unknown = [0x0a, 1, b'a', 0x10, 1];
        // The length as an overlong varint: prost takes it.
        let overlong = [0x0a, 0x81, 0x00, b'a'];
        let empty = [0x0a, 0];
        for body in [
            &long[..],
            &one_byte,
            &two_bytes,
            &field_then_unknown,
            &overlong,
            &empty,
        ] {
            let prost = EchoRequest::decode(body).map_err(|e| Status::internal(e.to_string()))?;
            assert_eq!(
                read(body, "EchoRequest")?,
                prost.message.as_bytes(),
                "{body:?}"
            );
        }
        Ok(())
    }

    #[test]
    fn what_prost_refuses_is_an_internal_error() {
        let not_utf8 = [0x0a, 2, 0xff, 0xfe];
        // An invalid value overridden by a valid one is still an error.
        let not_utf8_first = [0x0a, 1, 0xff, 0x0a, 1, b'a'];
        let truncated = [0x0a, 10, b'a'];
        let wrong_type = [0x08, 1];
        let bad_varint = [
            0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ];
        for body in [
            &not_utf8[..],
            &not_utf8_first,
            &truncated,
            &wrong_type,
            &bad_varint,
        ] {
            assert!(EchoRequest::decode(body).is_err(), "prost accepts {body:?}");
            let status = read(body, "EchoRequest").err();
            assert_eq!(
                status.map(|s| s.code()),
                Some(tonic::Code::Internal),
                "{body:?}"
            );
        }
        let multibyte = [0x0a, 2, 0xc3, 0xa9];
        assert_eq!(read(&multibyte, "EchoRequest").ok(), Some("é".as_bytes()));
    }
}

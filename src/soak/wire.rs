//! The codec of soak's bidi streams: each echo is checked where it lies in tonic's receive
//! buffer, so a reply costs no String (an allocation, a copy and a free per message were a
//! tenth of a soak's CPU). Requests are encoded as usual.

use bytes::Buf;
use prost::encoding::WireType;
use prost::encoding::{check_wire_type, decode_key, decode_varint, skip_field, DecodeContext};
use tonic::{
    codec::{Codec, DecodeBuf, Decoder},
    Status,
};
use tonic_prost::ProstEncoder;

use super::integrity::{self, Stamp};
use crate::{codec, proto::EchoRequest};

/// One echo as soak needs it: its size and the stamp it carries, when it has the expected
/// reply prefix and the stamp verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Echo {
    pub len: usize,
    pub stamp: Option<Stamp>,
}

/// EchoRequest out, [`Echo`] in; `prefix` is the reply text before the echoed message.
#[derive(Debug, Clone, Copy)]
pub struct BidiCodec {
    pub prefix: &'static str,
}

impl Codec for BidiCodec {
    type Encode = EchoRequest;
    type Decode = Echo;
    type Encoder = ProstEncoder<EchoRequest>;
    type Decoder = EchoDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::new(codec::settings())
    }

    fn decoder(&mut self) -> Self::Decoder {
        EchoDecoder {
            prefix: self.prefix,
        }
    }
}

#[derive(Debug)]
pub struct EchoDecoder {
    prefix: &'static str,
}

impl Decoder for EchoDecoder {
    type Item = Echo;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Echo>, Status> {
        let len = buf.remaining();
        // tonic hands over one whole message, contiguous in its buffer; a copy otherwise.
        let echo = if buf.chunk().len() == len {
            check(buf.chunk(), self.prefix)
        } else {
            check(&buf.copy_to_bytes(len), self.prefix)
        };
        buf.advance(buf.remaining());
        echo.map(Some)
    }

    fn buffer_settings(&self) -> tonic::codec::BufferSettings {
        codec::settings()
    }
}

/// Decodes an EchoResponse as prost would (the last `message` wins, unknown fields are
/// skipped, a `message` that is not UTF-8 is an error) and checks the echoed stamp.
fn check(body: &[u8], prefix: &str) -> Result<Echo, Status> {
    let text = message_field(body).map_err(|e| Status::internal(e.to_string()))?;
    std::str::from_utf8(text).map_err(|_| {
        Status::internal("failed to decode Protobuf message: EchoResponse.message: invalid string value: data is not UTF-8 encoded")
    })?;
    Ok(Echo {
        len: text.len(),
        stamp: text
            .strip_prefix(prefix.as_bytes())
            .and_then(integrity::decode),
    })
}

/// The bytes of field 1 (`message`) of an encoded EchoResponse; empty when absent.
fn message_field(mut body: &[u8]) -> Result<&[u8], prost::DecodeError> {
    let mut message: &[u8] = &[];
    while body.has_remaining() {
        let (tag, wire_type) = decode_key(&mut body)?;
        if tag != 1 {
            skip_field(wire_type, tag, &mut body, DecodeContext::default())?;
            continue;
        }
        check_wire_type(WireType::LengthDelimited, wire_type)?;
        let start = body;
        // skip_field checks the length against what is left, as a string merge would.
        skip_field(wire_type, tag, &mut body, DecodeContext::default())?;
        let mut length_prefix = start;
        let len = decode_varint(&mut length_prefix)? as usize;
        message = &length_prefix[..len];
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;
    use crate::proto::EchoResponse;

    fn stamped(seq: u64) -> String {
        let mut text = String::new();
        integrity::encode(
            Stamp {
                stream: 3,
                seq,
                sent_ns: 99,
            },
            64,
            &mut text,
        );
        text
    }

    #[test]
    fn an_echo_is_read_as_prost_reads_it() -> Result<(), Status> {
        let body = EchoResponse {
            message: format!("Sync Echo: {}", stamped(5)),
        }
        .encode_to_vec();
        let echo = check(&body, "Sync Echo: ")?;
        assert_eq!(echo.len, 11 + 64);
        assert_eq!(
            echo.stamp.map(|s| (s.stream, s.seq, s.sent_ns)),
            Some((3, 5, 99))
        );
        // Another prefix, or none: not one of ours.
        assert_eq!(check(&body, "Async Echo: ")?.stamp, None);
        assert_eq!(
            check(&[], "Sync Echo: ")?,
            Echo {
                len: 0,
                stamp: None
            }
        );
        Ok(())
    }

    #[test]
    fn unknown_fields_are_skipped_and_the_last_message_wins() -> Result<(), Status> {
        let first = EchoResponse {
            message: "Sync Echo: stale".into(),
        }
        .encode_to_vec();
        let last = EchoResponse {
            message: format!("Sync Echo: {}", stamped(1)),
        }
        .encode_to_vec();
        // field 2 varint 150, field 3 fixed64, field 4 bytes "xy", then two field-1 values.
        let mut body = vec![
            0x10, 0x96, 0x01, 0x19, 1, 2, 3, 4, 5, 6, 7, 8, 0x22, 2, b'x', b'y',
        ];
        body.extend(first);
        body.extend(last);
        let echo = check(&body, "Sync Echo: ")?;
        assert_eq!(echo.stamp.map(|s| s.seq), Some(1));
        Ok(())
    }

    #[test]
    fn what_prost_refuses_is_an_internal_error() {
        let not_utf8 = [0x0a, 2, 0xff, 0xfe];
        let truncated = [0x0a, 10, b'a'];
        let wrong_type = [0x08, 1];
        let bad_varint = [
            0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ];
        for body in [&not_utf8[..], &truncated, &wrong_type, &bad_varint] {
            assert!(
                EchoResponse::decode(body).is_err(),
                "prost accepts {body:?}"
            );
            let status = check(body, "Sync Echo: ").err();
            assert_eq!(
                status.map(|s| s.code()),
                Some(tonic::Code::Internal),
                "{body:?}"
            );
        }
    }
}

//! The codec of soak's streams: each request is written straight from its stamp into tonic's
//! send buffer, and each bidi echo is checked where it lies in tonic's receive buffer, so a
//! message costs no String either way (an allocation, a copy and a free per message each
//! way were a tenth of a soak's CPU).

use bytes::{Buf, BufMut};
use prost::encoding::{
    check_wire_type, decode_key, decode_varint, encode_varint, skip_field, DecodeContext, WireType,
};
use tonic::{
    codec::{BufferSettings, Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    Status,
};
use tonic_prost::ProstDecoder;

use super::integrity::{self, Stamp};
use crate::{codec, proto::EchoResponse};

/// A request to send: EchoRequest{message} where the message is the stamp's text,
/// `size` bytes long (see integrity.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamped {
    pub stamp: Stamp,
    pub size: usize,
}

impl Stamped {
    /// The message text, for checks that compare an echo with it.
    pub fn text(&self) -> String {
        let mut text = Vec::new();
        integrity::encode(self.stamp, self.size, &mut text);
        // ASCII, so this never replaces anything.
        String::from_utf8_lossy(&text).into_owned()
    }
}

/// One bidi echo as soak needs it: its size and the stamp it carries, when it has the
/// expected reply prefix and the stamp verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Echo {
    pub len: usize,
    pub stamp: Option<Stamp>,
}

/// [`Stamped`] requests out; replies decoded by `D`: whole EchoResponses for client-stream
/// and server-stream, [`Echo`]s for bidi streams.
#[derive(Debug, Clone)]
pub struct SoakCodec<D> {
    decoder: D,
}

impl SoakCodec<ProstDecoder<EchoResponse>> {
    pub fn replies() -> Self {
        Self {
            decoder: ProstDecoder::new(codec::settings()),
        }
    }
}

impl SoakCodec<EchoDecoder> {
    /// `prefix` is the reply text before the echoed message.
    pub fn echoes(prefix: &'static str) -> Self {
        Self {
            decoder: EchoDecoder { prefix },
        }
    }
}

impl<D> Codec for SoakCodec<D>
where
    D: Decoder<Error = Status> + Clone + Send + 'static,
    D::Item: Send + 'static,
{
    type Encode = Stamped;
    type Decode = D::Item;
    type Encoder = StampEncoder;
    type Decoder = D;

    fn encoder(&mut self) -> StampEncoder {
        StampEncoder::default()
    }

    fn decoder(&mut self) -> D {
        self.decoder.clone()
    }
}

/// Writes EchoRequest{message: the stamp's text} as prost would: tag, length, bytes.
#[derive(Debug, Default)]
pub struct StampEncoder {
    /// The text of the message being written, reused from one message to the next.
    text: Vec<u8>,
}

/// Field 1 (`message`), wire type 2 (length-delimited).
const MESSAGE_KEY: u8 = 1 << 3 | 2;

/// `text` is scratch space for the message's text.
fn write_request(item: Stamped, text: &mut Vec<u8>, dst: &mut impl BufMut) {
    integrity::encode(item.stamp, item.size, text);
    // A stamp is never empty, so the field is always present (proto3 omits empty strings).
    dst.put_u8(MESSAGE_KEY);
    encode_varint(text.len() as u64, dst);
    dst.put_slice(text);
}

impl Encoder for StampEncoder {
    type Item = Stamped;
    type Error = Status;

    fn encode(&mut self, item: Stamped, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        write_request(item, &mut self.text, dst);
        Ok(())
    }

    fn buffer_settings(&self) -> BufferSettings {
        codec::settings()
    }
}

#[derive(Debug, Clone)]
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

    fn buffer_settings(&self) -> BufferSettings {
        codec::settings()
    }
}

/// Decodes an EchoResponse as prost would (the last `message` wins, unknown fields are
/// skipped, any `message` that is not UTF-8 is an error) and checks the echoed stamp.
/// Public for the differential fuzz target, which holds it to prost's decoder.
pub fn check(body: &[u8], prefix: &str) -> Result<Echo, Status> {
    let text = message_field(body)?;
    Ok(Echo {
        len: text.len(),
        stamp: text
            .strip_prefix(prefix.as_bytes())
            .and_then(integrity::decode),
    })
}

/// The bytes of field 1 (`message`) of an encoded EchoResponse; empty when absent.
fn message_field(mut body: &[u8]) -> Result<&[u8], Status> {
    let invalid = |e: prost::DecodeError| Status::internal(e.to_string());
    let mut message: &[u8] = &[];
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
                Status::internal(
                    "failed to decode Protobuf message: EchoResponse.message: buffer underflow",
                )
            })?;
        (message, body) = body.split_at(len);
        // prost checks every occurrence, not only the one that wins. Echoes of our stamps
        // are ASCII, which is much cheaper to confirm than UTF-8.
        if !message.is_ascii() {
            std::str::from_utf8(message).map_err(|_| {
                Status::internal("failed to decode Protobuf message: EchoResponse.message: invalid string value: data is not UTF-8 encoded")
            })?;
        }
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;
    use crate::proto::EchoResponse;

    fn stamped(seq: u64) -> String {
        Stamped {
            stamp: Stamp {
                stream: 3,
                seq,
                sent_ns: 99,
            },
            size: 64,
        }
        .text()
    }

    #[test]
    fn a_stamp_is_written_as_prost_writes_its_request() {
        for size in [0, 64, 200, 70_000] {
            let item = Stamped {
                stamp: Stamp {
                    stream: 1,
                    seq: 2,
                    sent_ns: 3,
                },
                size,
            };
            let mut buf = Vec::new();
            write_request(item, &mut Vec::new(), &mut buf);
            let expected = crate::proto::EchoRequest {
                message: item.text(),
            };
            assert_eq!(buf, expected.encode_to_vec(), "size {size}");
            assert_eq!(item.text().len(), integrity::encoded_len(item.stamp, size));
        }
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

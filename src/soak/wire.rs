//! The codec of soak's streams: each request is written straight from its stamp into tonic's
//! send buffer, and each bidi echo is checked where it lies in tonic's receive buffer, so a
//! message costs no String either way (an allocation, a copy and a free per message each
//! way were a tenth of a soak's CPU).

use bytes::{Buf, BufMut};
use tonic::{
    codec::{BufferSettings, Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    Status,
};
use tonic_prost::ProstDecoder;

use super::integrity::{self, Stamp};
use crate::{
    codec::{self, field},
    proto::EchoResponse,
};

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
    burst: usize,
}

impl SoakCodec<ProstDecoder<EchoResponse>> {
    /// `burst`: the bytes a call sends or receives at a time, at most (buffer sizes).
    pub fn replies(burst: usize) -> Self {
        Self {
            decoder: ProstDecoder::new(codec::settings_for(burst)),
            burst,
        }
    }
}

impl SoakCodec<EchoDecoder> {
    /// `prefix` is the reply text before the echoed message.
    pub fn echoes(prefix: &'static str, burst: usize) -> Self {
        Self {
            decoder: EchoDecoder { prefix, burst },
            burst,
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
        StampEncoder {
            text: Vec::new(),
            burst: self.burst,
        }
    }

    fn decoder(&mut self) -> D {
        self.decoder.clone()
    }
}

/// Writes EchoRequest{message: the stamp's text} as prost would: tag, length, bytes.
#[derive(Debug)]
pub struct StampEncoder {
    /// The text of the message being written, reused from one message to the next.
    text: Vec<u8>,
    burst: usize,
}

/// `text` is scratch space for the message's text.
fn write_request(item: Stamped, text: &mut Vec<u8>, dst: &mut impl BufMut) {
    integrity::encode(item.stamp, item.size, text);
    field::put(&[text], dst);
}

impl Encoder for StampEncoder {
    type Item = Stamped;
    type Error = Status;

    fn encode(&mut self, item: Stamped, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        write_request(item, &mut self.text, dst);
        Ok(())
    }

    fn buffer_settings(&self) -> BufferSettings {
        codec::settings_for(self.burst)
    }
}

#[derive(Debug, Clone)]
pub struct EchoDecoder {
    prefix: &'static str,
    burst: usize,
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
        codec::settings_for(self.burst)
    }
}

/// Decodes an EchoResponse as prost would (see `field::read`) and checks the echoed stamp.
/// Public for the differential fuzz target, which holds it to prost's decoder.
pub fn check(body: &[u8], prefix: &str) -> Result<Echo, Status> {
    let text = field::read(body, "EchoResponse")?;
    Ok(Echo {
        len: text.len(),
        stamp: text
            .strip_prefix(prefix.as_bytes())
            .and_then(integrity::decode),
    })
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
}

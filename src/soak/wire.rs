//! The codec of soak's streams: each request is written straight from its stamp into tonic's
//! send buffer, and each bidi echo is checked where it lies (in the response's DATA frames,
//! see replies.rs), so a message costs no String either way (an allocation, a copy and a
//! free per message each way were a tenth of a soak's CPU).

use std::ops::Range;

use bytes::{Buf, BufMut, Bytes};
use tonic::{
    codec::{BufferSettings, Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    Status,
};
use tonic_prost::ProstDecoder;

use super::{
    integrity::{self, Encoded, Stamp, Stamper},
    ledger::{Ledger, Texts},
    same,
};
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

/// [`Stamped`] requests out, whole EchoResponses in: server-stream calls (client-stream and
/// bidi calls read their replies themselves: call.rs, replies.rs).
#[derive(Debug, Clone)]
pub struct SoakCodec {
    decoder: ProstDecoder<EchoResponse>,
    burst: usize,
}

impl SoakCodec {
    /// `burst`: the bytes a call sends or receives at a time, at most (buffer sizes).
    pub fn replies(burst: usize) -> Self {
        Self {
            decoder: ProstDecoder::new(codec::settings_for(burst)),
            burst,
        }
    }
}

impl Codec for SoakCodec {
    type Encode = Stamped;
    type Decode = EchoResponse;
    type Encoder = StampEncoder;
    type Decoder = ProstDecoder<EchoResponse>;

    fn encoder(&mut self) -> StampEncoder {
        StampEncoder::new(self.burst)
    }

    fn decoder(&mut self) -> ProstDecoder<EchoResponse> {
        self.decoder.clone()
    }
}

/// Writes EchoRequest{message: the stamp's text} as prost would: tag, length, bytes.
#[derive(Debug)]
pub struct StampEncoder {
    burst: usize,
    /// One call's messages: one stream, send times shared (integrity.rs).
    stamper: Stamper,
}

impl StampEncoder {
    /// `burst`: the bytes a call sends at a time, at most (buffer sizes).
    pub fn new(burst: usize) -> Self {
        Self {
            burst,
            stamper: Stamper::default(),
        }
    }
}

fn write_request(stamper: &mut Stamper, item: Stamped, dst: &mut impl BufMut) {
    put_request(&stamper.encode(item.stamp, item.size), dst);
}

fn put_request(message: &Encoded, dst: &mut impl BufMut) {
    // Never empty (a message holds at least its header), so the key is always written.
    field::put_key(message.text_len(), dst);
    message.write(dst);
}

/// One whole uncompressed gRPC message: its 5-byte prefix, then the request (the length is
/// known before a byte is written: no prefix to back-fill).
pub fn write_message(stamper: &mut Stamper, item: Stamped, dst: &mut impl BufMut) {
    let message = stamper.encode(item.stamp, item.size);
    let len = field::encoded_len(message.text_len());
    dst.put_u8(0);
    // Messages are 64 MiB at most (config): the length fits.
    dst.put_u32(len as u32);
    put_request(&message, dst);
}

impl Encoder for StampEncoder {
    type Item = Stamped;
    type Error = Status;

    fn encode(&mut self, item: Stamped, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        write_request(&mut self.stamper, item, dst);
        Ok(())
    }

    fn buffer_settings(&self) -> BufferSettings {
        codec::settings_for(self.burst)
    }
}

/// How a reply message is read where it lies: a bidi echo's stamp checked, or a whole
/// summary's text taken.
pub trait Check: Send + 'static {
    type Item: Send + Sync + 'static;

    /// `body`: one message, its gRPC prefix removed.
    fn check(&mut self, body: &[u8]) -> Result<Self::Item, Status>;

    /// [`Check::check`] of `frame[message]`, for a check that keeps part of the frame.
    fn check_in(&mut self, frame: &Bytes, message: Range<usize>) -> Result<Self::Item, Status> {
        self.check(&frame[message])
    }
}

/// A bidi echo of stream `stream`: the reply prefix (`Sync Echo: `), then one of our stamps.
/// An echo of the next text the call's ledger holds is that text's stamp; any other is
/// decoded.
#[derive(Debug)]
pub struct EchoCheck {
    prefix: &'static str,
    stream: u64,
    sent: Option<Texts>,
}

impl EchoCheck {
    pub fn new(prefix: &'static str, stream: u64, ledger: Option<Ledger>) -> Self {
        Self {
            prefix,
            stream,
            sent: ledger.map(Texts::new),
        }
    }

    /// The stamp of `text`, a reply's whole text, when it echoes the next text sent.
    fn next_sent(&mut self, text: &[u8]) -> Option<Stamp> {
        let stamp_text = same::strip_prefix(text, self.prefix.as_bytes())?;
        let sent = self.sent.as_mut()?.next_if(stamp_text)?;
        Some(Stamp {
            stream: self.stream,
            seq: sent.seq,
            sent_ns: sent.sent_ns,
        })
    }
}

impl Check for EchoCheck {
    type Item = Echo;

    fn check(&mut self, body: &[u8]) -> Result<Echo, Status> {
        // Our own text is ASCII: one that equals it needs no UTF-8 check.
        if let Some(text) = field::only_field(body) {
            if let Some(stamp) = self.next_sent(text) {
                return Ok(Echo {
                    len: text.len(),
                    stamp: Some(stamp),
                });
            }
        }
        let echo = check(body, self.prefix)?;
        // Out of turn: the texts sent before it are not next any more.
        if let (Some(sent), Some(stamp)) = (self.sent.as_mut(), echo.stamp) {
            if stamp.stream == self.stream {
                sent.skip_through(stamp.seq);
            }
        }
        Ok(echo)
    }
}

/// A whole EchoResponse's text (UTF-8, as prost requires): client-stream's summary, checked
/// item by item by the worker. Taken from the frame it arrived in, not copied: a summary of
/// 100 messages is 6.8 KB.
#[derive(Debug, Clone, Copy)]
pub struct WholeReply;

impl Check for WholeReply {
    type Item = Bytes;

    fn check(&mut self, body: &[u8]) -> Result<Bytes, Status> {
        Ok(Bytes::copy_from_slice(field::read(body, "EchoResponse")?))
    }

    fn check_in(&mut self, frame: &Bytes, message: Range<usize>) -> Result<Bytes, Status> {
        // A part of the frame (field::read gives a part of what it reads, or nothing).
        let text = field::read(&frame[message], "EchoResponse")?;
        Ok(frame.slice_ref(text))
    }
}

/// A [`Check`] as tonic's decoder, for replies tonic must decompress first (replies.rs).
#[derive(Debug, Clone)]
pub struct CheckDecoder<C> {
    check: C,
    burst: usize,
}

impl<C> CheckDecoder<C> {
    /// `burst` as for [`StampEncoder`].
    pub fn new(check: C, burst: usize) -> Self {
        Self { check, burst }
    }
}

impl<C: Check> Decoder for CheckDecoder<C> {
    type Item = C::Item;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<C::Item>, Status> {
        let len = buf.remaining();
        // tonic hands over one whole message, contiguous in its buffer; a copy otherwise.
        let reply = if buf.chunk().len() == len {
            self.check.check(buf.chunk())
        } else {
            self.check.check(&buf.copy_to_bytes(len))
        };
        buf.advance(buf.remaining());
        reply.map(Some)
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
        stamp: same::strip_prefix(text, prefix.as_bytes()).and_then(integrity::decode),
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
            write_request(&mut Stamper::default(), item, &mut buf);
            let expected = crate::proto::EchoRequest {
                message: item.text(),
            };
            assert_eq!(buf, expected.encode_to_vec(), "size {size}");
            assert_eq!(item.text().len(), integrity::encoded_len(item.stamp, size));
        }
    }

    #[test]
    fn a_summary_is_taken_from_its_frame_as_a_copy_would_read_it() -> Result<(), Status> {
        let text = "Received 1 messages: ['x']";
        let body = EchoResponse {
            message: text.into(),
        }
        .encode_to_vec();
        let frame = Bytes::from([&[0; 5][..], &body].concat());
        let taken = WholeReply.check_in(&frame, 5..frame.len())?;
        assert_eq!(taken, WholeReply.check(&body)?);
        assert_eq!(&taken[..], text.as_bytes());
        assert!(frame.as_ptr_range().contains(&taken.as_ptr()), "not copied");
        let invalid = Bytes::from_static(&[0, 0, 0, 0, 3, 0x0a, 1, 0xff]);
        assert!(WholeReply.check_in(&invalid, 5..8).is_err(), "not UTF-8");
        Ok(())
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

    fn echo_of(text: &str) -> Vec<u8> {
        EchoResponse {
            message: format!("Sync Echo: {text}"),
        }
        .encode_to_vec()
    }

    #[test]
    fn an_echo_of_the_next_text_sent_is_judged_as_decoding_judges_it() -> Result<(), Status> {
        use crate::soak::ledger::fixture::{sent, STREAM};
        let (texts, ledger) = sent();
        let mut corrupted = texts[3].clone().into_bytes();
        corrupted[20] ^= 1;
        let corrupted = String::from_utf8_lossy(&corrupted).into_owned();
        // In order; then out of turn, duplicated, corrupted, another stream's, not an echo.
        let order = [0, 1, 3, 2, 3, 4, 4, 0];
        let mut bodies: Vec<Vec<u8>> = order.iter().map(|&i| echo_of(&texts[i])).collect();
        bodies.insert(3, echo_of(&corrupted));
        bodies.push(echo_of(&texts[1].replace('.', ":")));
        bodies.push(
            EchoResponse {
                message: texts[4].clone(),
            }
            .encode_to_vec(),
        );
        bodies.push(vec![0x0a, 3, 0xff, 0xfe, 0xfd]);
        let mut echo_check = EchoCheck::new(SYNC, STREAM, Some(ledger));
        let judged = |r: Result<Echo, Status>| r.map_err(|e| (e.code(), e.message().to_owned()));
        for body in &bodies {
            let decoded = judged(check(body, SYNC));
            assert_eq!(judged(echo_check.check(body)), decoded, "{body:?}");
        }
        // The first two were read from the ledger, not decoded: it has moved past them.
        let (_, fresh) = sent();
        let mut echo_check = EchoCheck::new(SYNC, STREAM, Some(fresh));
        echo_check.check(&echo_of(&texts[0]))?;
        echo_check.check(&echo_of(&texts[1]))?;
        let next = echo_check
            .sent
            .as_mut()
            .and_then(|t| t.peek())
            .map(|(t, _)| t.to_vec());
        assert_eq!(next.as_deref(), Some(texts[2].as_bytes()));
        Ok(())
    }

    const SYNC: &str = "Sync Echo: ";
}

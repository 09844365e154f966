//! A call's replies, read where they lie in the response body's DATA frames: each message
//! is checked in place (bidi echoes: `EchoCheck`), and all the messages of a frame arrived
//! together, so they share one clock reading. The call ends as tonic's client ends it: with
//! the status of the trailers, of a trailers-only response, or, without one, of the HTTP
//! status.
//!
//! Compressed replies (a server that compresses what we said we accept) go through tonic's
//! `Streaming`, which decompresses.

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, StatusCode};
use http_body::Body as HttpBody;
use http_body_util::BodyExt as _;
use tonic::{codec::CompressionEncoding, Code, Status, Streaming};

use super::wire::{Check, CheckDecoder};

/// The gRPC message prefix: compression flag and length.
pub(super) const PREFIX: usize = 5;

/// The replies of one call, each read by a [`Check`].
pub enum Replies<B, C: Check> {
    Frames(Frames<B, C>),
    Decompressed(Streaming<C::Item>),
    /// A trailers-only response with OK: no replies at all.
    Empty,
}

/// Reads the replies to a call whose response headers are in, each with `check`; `burst`
/// sizes tonic's buffers, when it decompresses.
pub fn read<B, C: Check>(
    response: http::Response<B>,
    check: C,
    burst: usize,
) -> Result<Replies<B, C>, Status>
where
    B: HttpBody<Data = Bytes, Error = Status> + Send + Unpin + 'static,
{
    let encoding = encoding(response.headers())?;
    if let Some(status) = Status::from_header_map(response.headers()) {
        return match status.code() {
            Code::Ok => Ok(Replies::Empty),
            _ => Err(status),
        };
    }
    let http = response.status();
    let body = response.into_body();
    Ok(match encoding {
        Some(encoding) => Replies::Decompressed(Streaming::new_response(
            CheckDecoder::new(check, burst),
            body,
            http,
            Some(encoding),
            Some(usize::MAX),
        )),
        None => Replies::Frames(Frames {
            body,
            http,
            check,
            frame: Bytes::new(),
            partial: BytesMut::new(),
        }),
    })
}

/// The reply encoding the response declares; only those we accept.
fn encoding(headers: &HeaderMap) -> Result<Option<CompressionEncoding>, Status> {
    match headers.get("grpc-encoding").map(|v| v.as_bytes()) {
        None | Some(b"identity") => Ok(None),
        Some(b"gzip") => Ok(Some(CompressionEncoding::Gzip)),
        Some(b"zstd") => Ok(Some(CompressionEncoding::Zstd)),
        Some(other) => Err(Status::unimplemented(format!(
            "Content is compressed with `{}` which isn't supported",
            String::from_utf8_lossy(other)
        ))),
    }
}

impl<B, C: Check> Replies<B, C>
where
    B: HttpBody<Data = Bytes, Error = Status> + Unpin,
{
    /// The replies that arrived next, together; `None` once the call ended with OK.
    pub async fn next(&mut self) -> Result<Option<Arrived<'_, B, C>>, Status> {
        match self {
            Replies::Frames(frames) => {
                Ok(frames.next_frame().await?.then_some(Arrived::Frame(frames)))
            }
            Replies::Decompressed(streaming) => Ok(streaming
                .message()
                .await?
                .map(|reply| Arrived::One(Some(reply)))),
            Replies::Empty => Ok(None),
        }
    }

    /// A call's one reply (client-stream), and when it arrived. As tonic's client: an error
    /// status after it fails the call, more replies are let go, and none is an error.
    pub async fn only(mut self) -> Result<(C::Item, quanta::Instant), Status> {
        let mut first = None;
        while let Some(arrived) = self.next().await? {
            let now = quanta::Instant::now();
            for reply in arrived {
                first.get_or_insert((reply?, now));
            }
        }
        first.ok_or_else(|| Status::internal("Missing response message."))
    }
}

/// Response DATA frames, and a message cut by the end of one until the rest arrives.
pub struct Frames<B, C> {
    body: B,
    http: StatusCode,
    check: C,
    /// The messages of the frame being read, from the next one on.
    frame: Bytes,
    partial: BytesMut,
}

impl<B, C: Check> Frames<B, C>
where
    B: HttpBody<Data = Bytes, Error = Status> + Unpin,
{
    /// Waits until at least one whole message is in; false once the call ended with OK.
    async fn next_frame(&mut self) -> Result<bool, Status> {
        // What the last frame left is the start of the next message.
        if !self.frame.is_empty() {
            self.partial.extend_from_slice(&self.frame);
            self.frame.clear();
        }
        loop {
            let Some(frame) = self.body.frame().await.transpose()? else {
                return if self.partial.is_empty() {
                    end_status(None, self.http).map(|()| false)
                } else {
                    Err(Status::internal("Unexpected EOF decoding stream."))
                };
            };
            let data = match frame.into_data() {
                Ok(data) => data,
                Err(frame) => {
                    let trailers = frame.into_trailers().ok();
                    return end_status(trailers.as_ref(), self.http).map(|()| false);
                }
            };
            if self.partial.is_empty() && holds_a_message(&data) {
                self.frame = data;
                return Ok(true);
            }
            self.partial.extend_from_slice(&data);
            if holds_a_message(&self.partial) {
                self.frame = self.partial.split().freeze();
                return Ok(true);
            }
        }
    }

    /// The next whole message of the current frame, checked.
    fn next_reply(&mut self) -> Option<Result<C::Item, Status>> {
        let len = message_len(&self.frame)?;
        let reply = match self.frame[0] {
            0 => self.check.check_in(&self.frame, PREFIX..PREFIX + len),
            // We did not declare an encoding: a compressed message cannot be read (tonic's
            // words, as gRPC's compression spec asks).
            1 => Err(Status::internal(
                "protocol error: received message with compressed-flag but no grpc-encoding was specified",
            )),
            flag => Err(Status::internal(format!(
                "protocol error: received message with invalid compression flag: {flag} (valid flags are 0 and 1) while receiving response with status: {}",
                self.http
            ))),
        };
        self.frame.advance(PREFIX + len);
        Some(reply)
    }
}

/// The length of the message at the start of `bytes`, when all of it is there.
pub(super) fn message_len(bytes: &[u8]) -> Option<usize> {
    let header: [u8; 4] = bytes.get(1..PREFIX)?.try_into().ok()?;
    let len = u32::from_be_bytes(header) as usize;
    (bytes.len() - PREFIX >= len).then_some(len)
}

fn holds_a_message(bytes: &[u8]) -> bool {
    message_len(bytes).is_some()
}

/// The replies that arrived together: the whole messages of one DATA frame, or one
/// decompressed message.
pub enum Arrived<'a, B, C: Check> {
    Frame(&'a mut Frames<B, C>),
    One(Option<C::Item>),
}

impl<B, C: Check> Iterator for Arrived<'_, B, C>
where
    B: HttpBody<Data = Bytes, Error = Status> + Unpin,
{
    type Item = Result<C::Item, Status>;

    fn next(&mut self) -> Option<Result<C::Item, Status>> {
        match self {
            Arrived::Frame(frames) => frames.next_reply(),
            Arrived::One(reply) => reply.take().map(Ok),
        }
    }
}

/// How a call ended that sent no error: the trailers' `grpc-status`, or without one, the
/// HTTP status mapped as gRPC maps it (tonic's `infer_grpc_status`).
fn end_status(trailers: Option<&HeaderMap>, http: StatusCode) -> Result<(), Status> {
    if let Some(status) = trailers.and_then(Status::from_header_map) {
        return match status.code() {
            Code::Ok => Ok(()),
            _ => Err(status),
        };
    }
    let code = match http {
        StatusCode::BAD_REQUEST => Code::Internal,
        StatusCode::UNAUTHORIZED => Code::Unauthenticated,
        StatusCode::FORBIDDEN => Code::PermissionDenied,
        StatusCode::NOT_FOUND => Code::Unimplemented,
        StatusCode::TOO_MANY_REQUESTS
        | StatusCode::BAD_GATEWAY
        | StatusCode::SERVICE_UNAVAILABLE
        | StatusCode::GATEWAY_TIMEOUT => Code::Unavailable,
        StatusCode::OK => {
            return Err(Status::unknown(
                "protocol error: missing grpc-status trailer, stream was terminated without a final status (possible truncation by a proxy or load balancer)",
            ))
        }
        _ => Code::Unknown,
    };
    Err(Status::new(
        code,
        format!(
            "grpc-status header missing, mapped from HTTP status code {}",
            http.as_u16()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;
    use http_body::Frame;
    use http_body_util::StreamBody;
    use prost::Message as _;

    use super::*;
    use crate::{
        proto::EchoResponse,
        soak::{
            integrity::Stamp,
            wire::{EchoCheck, WholeReply},
        },
    };

    type TestBody =
        StreamBody<tokio_stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Status>>>>;

    /// `Sync Echo: <stamp>` for message `seq`, as a gRPC message (prefix, protobuf).
    fn echo(seq: u64) -> Vec<u8> {
        let mut text = b"Sync Echo: ".to_vec();
        crate::soak::integrity::encode(
            Stamp {
                stream: 1,
                seq,
                sent_ns: 5,
            },
            64,
            &mut text,
        );
        framed(&String::from_utf8_lossy(&text))
    }

    /// EchoResponse{message: text} as a gRPC message: flag, length, protobuf.
    fn framed(text: &str) -> Vec<u8> {
        let body = EchoResponse {
            message: text.into(),
        }
        .encode_to_vec();
        let mut message = vec![0];
        message.extend_from_slice(&(body.len() as u32).to_be_bytes());
        message.extend_from_slice(&body);
        message
    }

    fn trailers(status: &str) -> Frame<Bytes> {
        let mut map = HeaderMap::new();
        map.insert("grpc-status", status.parse().expect("a header value"));
        Frame::trailers(map)
    }

    fn response(
        http: StatusCode,
        headers: &[(&'static str, &'static str)],
        frames: Vec<Frame<Bytes>>,
    ) -> http::Response<TestBody> {
        let body = StreamBody::new(tokio_stream::iter(
            frames.into_iter().map(Ok).collect::<Vec<_>>(),
        ));
        let mut response = http::Response::new(body);
        *response.status_mut() = http;
        for (name, value) in headers {
            response
                .headers_mut()
                .insert(*name, HeaderValue::from_static(value));
        }
        response
    }

    /// The sequence numbers read, and how the call ended.
    async fn read_all(response: http::Response<TestBody>) -> (Vec<u64>, Result<(), Status>) {
        let mut seqs = Vec::new();
        let mut replies = match read(response, EchoCheck::new("Sync Echo: ", 0, None), 0) {
            Ok(replies) => replies,
            Err(status) => return (seqs, Err(status)),
        };
        loop {
            match replies.next().await {
                Ok(Some(echoes)) => {
                    for echo in echoes {
                        match echo {
                            Ok(echo) => seqs.push(echo.stamp.map_or(u64::MAX, |s| s.seq)),
                            Err(status) => return (seqs, Err(status)),
                        }
                    }
                }
                Ok(None) => return (seqs, Ok(())),
                Err(status) => return (seqs, Err(status)),
            }
        }
    }

    #[tokio::test]
    async fn echoes_are_read_whole_wherever_the_frames_cut_them() {
        let all: Vec<u8> = (0..3).flat_map(echo).collect();
        for cut in 1..all.len() {
            for second in [cut, (cut + all.len()) / 2] {
                let parts = [&all[..cut], &all[cut..second], &all[second..]];
                let mut frames: Vec<_> = parts
                    .iter()
                    .map(|p| Frame::data(Bytes::copy_from_slice(p)))
                    .collect();
                frames.push(trailers("0"));
                let (seqs, end) = read_all(response(StatusCode::OK, &[], frames)).await;
                assert_eq!(seqs, [0, 1, 2], "cut at {cut} and {second}");
                assert!(end.is_ok(), "cut at {cut}: {end:?}");
            }
        }
    }

    #[tokio::test]
    async fn a_client_stream_call_has_exactly_one_reply() {
        let summary = || Frame::data(Bytes::from(framed("Received 1 messages: ['x']")));
        let only = |frames| async move {
            read(response(StatusCode::OK, &[], frames), WholeReply, 0)?
                .only()
                .await
                .map(|(reply, _)| String::from_utf8_lossy(&reply).into_owned())
        };
        let text = "Received 1 messages: ['x']".to_owned();
        assert_eq!(
            only(vec![summary(), trailers("0")]).await.ok(),
            Some(text.clone())
        );
        // A second reply is let go, as tonic lets it go.
        assert_eq!(
            only(vec![summary(), summary(), trailers("0")]).await.ok(),
            Some(text)
        );
        let code = |result: Result<String, Status>| result.err().map(|s| s.code());
        assert_eq!(
            code(only(vec![trailers("0")]).await),
            Some(Code::Internal),
            "none"
        );
        assert_eq!(
            code(only(vec![summary(), trailers("13")]).await),
            Some(Code::Internal),
            "an error after the reply"
        );
        assert_eq!(
            code(only(vec![summary(), trailers("4")]).await),
            Some(Code::DeadlineExceeded)
        );
    }

    #[tokio::test]
    async fn calls_end_with_the_status_tonic_would_give() {
        let data = || Frame::data(Bytes::from(echo(0)));
        // An echo whose compression flag is `flag`.
        let flagged = |flag: u8| {
            let message = [&[flag][..], &echo(0)[1..]].concat();
            response(StatusCode::OK, &[], vec![Frame::data(Bytes::from(message))])
        };
        let cases: Vec<(http::Response<TestBody>, Option<Code>)> = vec![
            (
                response(StatusCode::OK, &[], vec![data(), trailers("0")]),
                None,
            ),
            (
                response(StatusCode::OK, &[], vec![data(), trailers("8")]),
                Some(Code::ResourceExhausted),
            ),
            // No trailers: the HTTP status decides.
            (
                response(StatusCode::OK, &[], vec![data()]),
                Some(Code::Unknown),
            ),
            (
                response(StatusCode::SERVICE_UNAVAILABLE, &[], vec![]),
                Some(Code::Unavailable),
            ),
            (
                response(StatusCode::NOT_FOUND, &[], vec![]),
                Some(Code::Unimplemented),
            ),
            // Trailers-only responses.
            (
                response(StatusCode::OK, &[("grpc-status", "0")], vec![]),
                None,
            ),
            (
                response(StatusCode::OK, &[("grpc-status", "14")], vec![]),
                Some(Code::Unavailable),
            ),
            // A message cut off by the end of the body.
            (
                response(
                    StatusCode::OK,
                    &[],
                    vec![Frame::data(Bytes::from(echo(0)[..20].to_vec()))],
                ),
                Some(Code::Internal),
            ),
            // Compressed with nothing declared, or a flag that does not exist.
            (flagged(1), Some(Code::Internal)),
            (flagged(7), Some(Code::Internal)),
            // An encoding we never offered.
            (
                response(StatusCode::OK, &[("grpc-encoding", "br")], vec![]),
                Some(Code::Unimplemented),
            ),
        ];
        for (i, (response, expected)) in cases.into_iter().enumerate() {
            let (_, end) = read_all(response).await;
            assert_eq!(end.err().map(|s| s.code()), expected, "case {i}");
        }
    }
}

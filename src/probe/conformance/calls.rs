//! What the cases share: requests carrying the run's headers and deadline, reading replies
//! against the expected ones, and the texts of failures.

use std::{
    pin::Pin,
    task::{Context as TaskContext, Poll},
    time::Duration,
};

use tokio::sync::oneshot;
use tokio_stream::Stream;
use tonic::{metadata::MetadataValue, Request, Status, Streaming};

use super::{Context, Problem};
use crate::{
    codec::field::encoded_len,
    interceptor::code_name,
    proto::{EchoRequest, EchoResponse},
};

/// Reads exactly `expected` (in order), then the end of the stream with OK.
pub(super) async fn expect_replies(
    replies: &mut Streaming<EchoResponse>,
    expected: &[String],
) -> Result<(), Problem> {
    for (i, want) in expected.iter().enumerate() {
        expect_reply(replies, i + 1, want).await?;
    }
    expect_end(replies, expected.len()).await
}

/// Reads reply `n` (1-based), which must be `want`.
pub(super) async fn expect_reply(
    replies: &mut Streaming<EchoResponse>,
    n: usize,
    want: &str,
) -> Result<(), Problem> {
    match replies.message().await {
        Ok(Some(reply)) if reply.message == want => Ok(()),
        Ok(Some(reply)) => fail(format!(
            "reply {n}: expected {}, got {}",
            abbreviate(want),
            abbreviate(&reply.message)
        )),
        Ok(None) => fail(format!(
            "reply {n}: expected {}, got the end of the stream (OK) after {} replies",
            abbreviate(want),
            n - 1
        )),
        Err(s) => fail(format!(
            "reply {n}: expected {}, got {}",
            abbreviate(want),
            status_text(&s)
        )),
    }
}

/// The stream must end now, with OK, after `received` replies.
pub(super) async fn expect_end(
    replies: &mut Streaming<EchoResponse>,
    received: usize,
) -> Result<(), Problem> {
    match replies.message().await {
        Ok(None) => Ok(()),
        Ok(Some(reply)) => fail(format!(
            "expected the end of the stream (OK) after {received} replies, got another reply {}",
            abbreviate(&reply.message)
        )),
        Err(s) => fail(format!(
            "expected the end of the stream (OK) after {received} replies, got {}",
            status_text(&s)
        )),
    }
}

pub(super) fn fail<T>(reason: String) -> Result<T, Problem> {
    Err(Problem::Fail(reason))
}

impl From<Status> for Problem {
    fn from(status: Status) -> Self {
        Problem::Fail(format!("expected OK, got {}", status_text(&status)))
    }
}

pub(super) fn after_cancel(status: Status) -> Problem {
    Problem::Fail(format!(
        "after the cancelled call, a new call on the same channel: expected OK, got {}",
        status_text(&status)
    ))
}

/// `CODE "message"`, or just `CODE`.
pub(super) fn status_text(status: &Status) -> String {
    match status.message() {
        "" => code_name(status.code()).to_owned(),
        message => format!("{} {message:?}", code_name(status.code())),
    }
}

/// A request carrying the configured headers and, as `grpc-timeout`, the deadline.
pub(super) fn request<T>(ctx: &Context, message: T, deadline: Duration) -> Request<T> {
    let mut request = Request::new(message);
    *request.metadata_mut() = ctx.headers.clone();
    request.set_timeout(deadline);
    request
}

/// Sets an ASCII header; the values used here are all valid.
pub(super) fn insert<T>(request: &mut Request<T>, key: &'static str, value: &str) {
    if let Ok(value) = MetadataValue::try_from(value) {
        request.metadata_mut().insert(key, value);
    }
}

/// A request stream of one message, then the half-close.
pub(super) fn one(message: &str) -> impl Stream<Item = EchoRequest> + Send + 'static {
    tokio_stream::iter([EchoRequest {
        message: message.to_owned(),
    }])
}

/// `n` bytes of ASCII letters.
pub(super) fn filler(n: usize) -> String {
    let mut text = "abcdefghijklmnopqrstuvwxyz".repeat(n / 26 + 1);
    text.truncate(n);
    text
}

/// The text length whose encoded `EchoRequest` is the smallest one of at least `size` bytes.
pub(super) fn text_len_for(size: usize) -> usize {
    // Tag and length take 2 to 11 bytes, so the answer is within 12 of `size`.
    (size.saturating_sub(12).max(1)..=size)
        .find(|&n| encoded_len(n) >= size)
        .unwrap_or(size)
}

/// Every byte but the unreserved ASCII characters as `%XX`.
pub(super) fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A text for a failure line: long ones cut, with their length.
pub(super) fn abbreviate(text: &str) -> String {
    const KEEP: usize = 60;
    match text.char_indices().nth(KEEP) {
        None => format!("{text:?}"),
        Some((cut, _)) => format!("{:?}… ({} bytes)", &text[..cut], text.len()),
    }
}

/// A request stream that says when it is first polled: tonic reads the body only once
/// the HTTP/2 stream is open.
pub(super) struct Noticed<S> {
    pub inner: S,
    pub started: Option<oneshot::Sender<()>>,
}

impl<S: Stream + Unpin> Stream for Noticed<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<S::Item>> {
        if let Some(started) = self.started.take() {
            let _ = started.send(());
        }
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(percent_encode("a b~\t☺"), "a%20b~%09%E2%98%BA");
    }

    #[test]
    fn the_oversized_message_is_one_byte_over_the_limit_when_possible() {
        for limit in [1, 100, 126, 127, 128, 129, 16383, 16384, 1 << 20] {
            let n = text_len_for(limit + 1);
            let size = prost::Message::encoded_len(&EchoRequest { message: filler(n) });
            assert_eq!(encoded_len(n), size, "text of {n} bytes");
            assert!(size > limit && size <= limit + 3, "limit {limit}: {size}");
        }
        assert_eq!(
            prost::Message::encoded_len(&EchoRequest {
                message: filler(text_len_for(1001))
            }),
            1001
        );
    }

    #[test]
    fn long_texts_are_abbreviated() {
        assert_eq!(abbreviate("short"), "\"short\"");
        let long = abbreviate(&filler(1000));
        assert!(
            long.ends_with("… (1000 bytes)") && long.len() < 90,
            "{long}"
        );
    }
}

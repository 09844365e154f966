//! Per-request behaviour chosen by request metadata, so users can test how their client
//! handles delays, statuses and resets: `x-grpcstream-status`, `-fail-after`, `-delay`,
//! `-replies` and `-abort-after` (the echo headers are handled by the faults layer). All are
//! optional; a malformed value is INVALID_ARGUMENT naming the header.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    task::{Context, Poll},
    time::Duration,
};

use http::HeaderMap;
use pin_project_lite::pin_project;
use tokio_stream::Stream;
use tonic::{Code, Status};

pub const STATUS: &str = "x-grpcstream-status";
pub const FAIL_AFTER: &str = "x-grpcstream-fail-after";
pub const DELAY: &str = "x-grpcstream-delay";
pub const REPLIES: &str = "x-grpcstream-replies";
pub const ABORT_AFTER: &str = "x-grpcstream-abort-after";

/// What the request asked for. Kept in the request's extensions by the faults layer.
#[derive(Debug, Clone, Default)]
pub struct Controls {
    /// End the RPC with this status after the normal replies (or after `fail_after`).
    pub status: Option<Status>,
    pub fail_after: Option<u64>,
    pub delay: Option<Duration>,
    pub replies: Option<u32>,
    pub abort_after: Option<u64>,
    /// Set once `abort_after` replies went out: the faults layer then resets the stream.
    pub abort: Arc<AtomicBool>,
}

impl Controls {
    /// `None` when the request carries no control header (the common, cheap case).
    pub fn parse(headers: &HeaderMap) -> Result<Option<Controls>, Status> {
        let value = |name: &'static str| -> Result<Option<&str>, Status> {
            headers
                .get(name)
                .map(|v| v.to_str().map_err(|_| invalid(name, "is not ASCII")))
                .transpose()
        };
        let number = |name: &'static str| -> Result<Option<u64>, Status> {
            value(name)?
                .map(|v| {
                    v.trim()
                        .parse::<u64>()
                        .map_err(|_| invalid(name, "must be a whole number"))
                })
                .transpose()
        };
        if !headers
            .keys()
            .any(|k| k.as_str().starts_with("x-grpcstream-"))
        {
            return Ok(None);
        }
        let status = value(STATUS)?.map(parse_status).transpose()?;
        let fail_after = number(FAIL_AFTER)?;
        if fail_after.is_some() && status.is_none() {
            return Err(invalid(
                FAIL_AFTER,
                "needs x-grpcstream-status to say how the RPC fails",
            ));
        }
        let delay = value(DELAY)?
            .map(|v| {
                humantime::parse_duration(v.trim())
                    .map_err(|e| invalid(DELAY, &format!("is not a duration ({e})")))
            })
            .transpose()?;
        let replies = number(REPLIES)?
            .map(|n| u32::try_from(n).map_err(|_| invalid(REPLIES, "is too large")))
            .transpose()?;
        Ok(Some(Controls {
            status,
            fail_after,
            delay,
            replies,
            abort_after: number(ABORT_AFTER)?,
            abort: Arc::default(),
        }))
    }

    /// The reply stream with these controls applied.
    pub fn apply<S>(&self, replies: S) -> Controlled<S> {
        Controlled {
            inner: replies,
            sleep: None,
            delay: self.delay,
            status: self.status.clone(),
            fail_after: self.fail_after,
            abort_after: self.abort_after,
            abort: self.abort.clone(),
            sent: 0,
            done: false,
        }
    }
}

fn invalid(header: &str, why: &str) -> Status {
    Status::invalid_argument(format!("header {header} {why}"))
}

/// `<code>[:<message>]`, the message percent-decoded so any UTF-8 text round-trips.
fn parse_status(value: &str) -> Result<Status, Status> {
    let (code, message) = value.split_once(':').unwrap_or((value, ""));
    let code: i32 = code
        .trim()
        .parse()
        .ok()
        .filter(|c| (0..=16).contains(c))
        .ok_or_else(|| invalid(STATUS, "must start with a status code from 0 to 16"))?;
    let message = percent_decode(message)
        .ok_or_else(|| invalid(STATUS, "has a message that is not percent-encoded UTF-8"))?;
    Ok(Status::new(Code::from_i32(code), message))
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

pin_project! {
    /// A reply stream delayed, cut short or ended with a status as the controls say.
    pub struct Controlled<S> {
        #[pin]
        inner: S,
        sleep: Option<Pin<Box<tokio::time::Sleep>>>,
        delay: Option<Duration>,
        status: Option<Status>,
        fail_after: Option<u64>,
        abort_after: Option<u64>,
        abort: Arc<AtomicBool>,
        sent: u64,
        done: bool,
    }
}

impl<S, T> Stream for Controlled<S>
where
    S: Stream<Item = Result<T, Status>>,
{
    type Item = Result<T, Status>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        if this.abort_after.is_some_and(|n| *this.sent >= n) {
            // The faults layer turns this end into a reset of the stream.
            this.abort.store(true, Ordering::Relaxed);
            *this.done = true;
            return Poll::Ready(None);
        }
        if this.fail_after.is_some_and(|n| *this.sent >= n) {
            *this.done = true;
            return Poll::Ready(this.status.take().map(Err));
        }
        if let Some(delay) = *this.delay {
            let sleep = this
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(delay)));
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
        match this.inner.as_mut().poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(item)) => {
                *this.sleep = None;
                *this.sent += 1;
                Poll::Ready(Some(item))
            }
            Poll::Ready(None) => {
                *this.done = true;
                Poll::Ready(this.status.take().filter(|s| s.code() != Code::Ok).map(Err))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(
                *k,
                v.parse()
                    .unwrap_or_else(|_| http::HeaderValue::from_static("")),
            );
        }
        map
    }

    #[test]
    fn statuses_round_trip_percent_encoded_text() {
        let parsed = Controls::parse(&headers(&[(STATUS, "2:%09tab%20and%20%F0%9F%98%88")]))
            .ok()
            .flatten();
        let status = parsed.and_then(|c| c.status);
        assert_eq!(
            status.as_ref().map(|s| (s.code(), s.message())),
            Some((Code::Unknown, "\ttab and 😈"))
        );
    }

    #[test]
    fn malformed_values_name_their_header() {
        for (name, value) in [
            (STATUS, "17:x"),
            (STATUS, "2:%zz"),
            (DELAY, "soon"),
            (REPLIES, "-1"),
            (FAIL_AFTER, "2"),
        ] {
            let err = Controls::parse(&headers(&[(name, value)])).err();
            assert_eq!(
                err.as_ref().map(Status::code),
                Some(Code::InvalidArgument),
                "{name}: {value}"
            );
            assert!(err.is_some_and(|e| e.message().contains(name)), "{name}");
        }
        assert!(matches!(Controls::parse(&HeaderMap::new()), Ok(None)));
    }
}

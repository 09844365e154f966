//! Request bodies that say they have ended with their last DATA frame. tonic's client body
//! only learns it has ended when asked for one more frame, so hyper sends every call's end
//! as a frame of its own (an empty DATA with END_STREAM), and h2 writes it with a write(2)
//! of its own after the data: a third of a soak's writes, and as many frames for the server
//! to read. Looking one frame ahead puts END_STREAM on the last DATA frame instead.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use pin_project_lite::pin_project;
use tonic::{body::Body, Status};

type Next = Option<Result<Frame<Bytes>, Status>>;

pin_project! {
    pub struct EndAware<B> {
        #[pin]
        inner: B,
        // What the look-ahead found: the next frame, an error, or the end (`Some(None)`).
        peeked: Option<Next>,
    }
}

impl<B> EndAware<B> {
    pub fn new(inner: B) -> Self {
        Self {
            inner,
            peeked: None,
        }
    }
}

/// Wraps a request's body.
pub fn end_aware(request: http::Request<Body>) -> http::Request<Body> {
    request.map(|body| Body::new(EndAware::new(body)))
}

impl<B> HttpBody for EndAware<B>
where
    B: HttpBody<Data = Bytes, Error = Status>,
{
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Next> {
        let mut this = self.project();
        let frame = match this.peeked.take() {
            Some(next) => next,
            None => match this.inner.as_mut().poll_frame(cx) {
                Poll::Ready(next) => next,
                Poll::Pending => return Poll::Pending,
            },
        };
        // Only a data frame needs to know whether another follows.
        if frame
            .as_ref()
            .is_some_and(|f| f.as_ref().is_ok_and(Frame::is_data))
        {
            if let Poll::Ready(next) = this.inner.as_mut().poll_frame(cx) {
                *this.peeked = Some(next);
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.peeked, Some(None)) || (self.peeked.is_none() && self.inner.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        let mut hint = self.inner.size_hint();
        if let Some(Some(Ok(frame))) = &self.peeked {
            let held = frame.data_ref().map_or(0, |data| data.len() as u64);
            hint.set_lower(hint.lower() + held);
            if let Some(upper) = hint.upper() {
                hint.set_upper(upper + held);
            }
        }
        hint
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::{BodyExt, StreamBody};
    use tokio_stream::StreamExt;

    use super::*;

    fn data(text: &'static str) -> Result<Frame<Bytes>, Status> {
        Ok(Frame::data(Bytes::from(text)))
    }

    fn text(frame: Option<Result<Frame<Bytes>, Status>>) -> Option<Bytes> {
        frame.and_then(Result::ok).and_then(|f| f.into_data().ok())
    }

    #[tokio::test]
    async fn the_last_data_frame_says_the_body_ended() {
        let mut body = EndAware::new(StreamBody::new(tokio_stream::iter([data("a"), data("b")])));
        assert_eq!(text(body.frame().await).as_deref(), Some(&b"a"[..]));
        assert!(!body.is_end_stream(), "another frame follows");
        assert_eq!(text(body.frame().await).as_deref(), Some(&b"b"[..]));
        assert!(body.is_end_stream(), "nothing follows");
        assert!(body.frame().await.is_none());
    }

    #[tokio::test]
    async fn the_size_hint_counts_a_frame_held_back() {
        let frames = tokio_stream::iter([data("ab"), data("cde")]);
        let mut body = EndAware::new(StreamBody::new(frames));
        let _ = body.frame().await;
        assert_eq!(body.size_hint().lower(), 3, "\"cde\" is held back");
    }

    #[tokio::test]
    async fn a_body_still_waiting_has_not_ended() {
        let frames = tokio_stream::iter([data("a")]).chain(tokio_stream::pending());
        let mut body = EndAware::new(StreamBody::new(frames));
        assert_eq!(text(body.frame().await).as_deref(), Some(&b"a"[..]));
        assert!(!body.is_end_stream());
    }

    #[tokio::test]
    async fn an_error_after_data_comes_in_its_turn() {
        let frames = [data("a"), Err(Status::cancelled("gone"))];
        let mut body = EndAware::new(StreamBody::new(tokio_stream::iter(frames)));
        assert_eq!(text(body.frame().await).as_deref(), Some(&b"a"[..]));
        assert!(!body.is_end_stream());
        let error = body.frame().await.and_then(Result::err);
        assert_eq!(error.map(|s| s.code()), Some(tonic::Code::Cancelled));
    }
}

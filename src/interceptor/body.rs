//! The bodies and the future the timing layer wraps around an RPC: they count messages as
//! they pass and report the RPC's end (trailers, end of body, or drop) exactly once.

use std::{
    fmt,
    pin::Pin,
    sync::{atomic::Ordering, Arc},
    task::{ready, Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use pin_project_lite::pin_project;
use tonic::{body::Body, Code};

use super::{frames::FrameCounter, grpc_status, Outcome, Rpc};

pin_project! {
    pub struct TimedFuture<F> {
        #[pin]
        inner: F,
        rpc: Option<Arc<Rpc>>,
    }
}

impl<F> TimedFuture<F> {
    /// `rpc: None` passes the response through untimed.
    pub(super) fn new(inner: F, rpc: Option<Arc<Rpc>>) -> Self {
        Self { inner, rpc }
    }
}

impl<F, B, E> std::future::Future for TimedFuture<F>
where
    F: std::future::Future<Output = Result<http::Response<B>, E>>,
    E: fmt::Display,
{
    type Output = Result<http::Response<TimedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        // No record: this RPC is not timed (see `Timing::call`); pass it through.
        let Some(rpc) = this.rpc.take() else {
            return Poll::Ready(
                result.map(|response| response.map(|inner| TimedBody { inner, state: None })),
            );
        };
        Poll::Ready(match result {
            Ok(response) => {
                let http = response.status().as_u16();
                // A trailers-only response (most errors) carries the status in its headers.
                let header_status = grpc_status(response.headers());
                Ok(response.map(|inner| TimedBody {
                    inner,
                    state: Some(Open {
                        rpc,
                        http,
                        header_status,
                        frames: FrameCounter::default(),
                        first_reply: None,
                    }),
                }))
            }
            Err(err) => {
                rpc.finish(Outcome::Error(err.to_string()), 0, None);
                Err(err)
            }
        })
    }
}

struct Open {
    rpc: Arc<Rpc>,
    http: u16,
    header_status: Option<Code>,
    frames: FrameCounter,
    first_reply: Option<Duration>,
}

impl Open {
    fn finish(self, outcome: Outcome) {
        self.rpc
            .finish(outcome, self.frames.messages, self.first_reply);
    }
}

pin_project! {
    /// The response body; logs the RPC when it yields trailers, ends, or is dropped.
    pub struct TimedBody<B> {
        #[pin]
        inner: B,
        state: Option<Open>,
    }

    impl<B> PinnedDrop for TimedBody<B> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(open) = this.project().state.take() {
                // A trailers-only response (an immediate error) is complete with its headers:
                // hyper drops its empty body unpolled, which is not a cancellation.
                let outcome = open.header_status.map_or(Outcome::Dropped, Outcome::Status);
                open.finish(outcome);
            }
        }
    }
}

impl<B> HttpBody for TimedBody<B>
where
    B: HttpBody<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        let Some(open) = this.state.as_mut() else {
            return Poll::Ready(frame);
        };
        let outcome = match &frame {
            Some(Ok(frame)) => match (frame.data_ref(), frame.trailers_ref()) {
                (Some(data), _) => {
                    if open.rpc.counting && open.frames.feed(data) > 0 && open.first_reply.is_none()
                    {
                        open.first_reply = Some(open.rpc.start.elapsed());
                    }
                    None
                }
                (None, Some(trailers)) => Some(
                    grpc_status(trailers)
                        .or(open.header_status)
                        .map_or(Outcome::NoStatus { http: open.http }, Outcome::Status),
                ),
                (None, None) => None,
            },
            Some(Err(_)) => Some(Outcome::Error("response body failed".into())),
            None => Some(
                open.header_status
                    .map_or(Outcome::NoStatus { http: open.http }, Outcome::Status),
            ),
        };
        // Take the state only once the RPC is over: a tuple pattern would take it eagerly.
        if let Some(outcome) = outcome {
            if let Some(open) = this.state.take() {
                open.finish(outcome);
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project! {
    /// The request body, counting the messages that pass through it.
    pub(super) struct RequestBody {
        #[pin]
        inner: Body,
        frames: FrameCounter,
        rpc: Arc<Rpc>,
    }
}

impl RequestBody {
    pub(super) fn new(inner: Body, rpc: Arc<Rpc>) -> Self {
        Self {
            inner,
            frames: FrameCounter::default(),
            rpc,
        }
    }
}

impl HttpBody for RequestBody {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, tonic::Status>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        if let Some(data) = frame.as_ref().and_then(|f| f.as_ref().ok()?.data_ref()) {
            let done = this.frames.feed(data);
            this.rpc.request_messages.fetch_add(done, Ordering::Relaxed);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

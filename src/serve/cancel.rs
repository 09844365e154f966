//! Ends reply streams with UNAVAILABLE when the shutdown grace period runs out, so a
//! client sees a status rather than a silently truncated stream.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use pin_project_lite::pin_project;
use tokio_stream::Stream;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tonic::Status;

pub fn shutting_down() -> Status {
    Status::unavailable(
        "server is shutting down and the grace period is over; retry on another server",
    )
}

pin_project! {
    pub struct UntilCancelled<S> {
        #[pin]
        inner: S,
        #[pin]
        cancelled: WaitForCancellationFutureOwned,
        done: bool,
    }
}

impl<S> UntilCancelled<S> {
    pub fn new(inner: S, token: CancellationToken) -> Self {
        Self {
            inner,
            cancelled: token.cancelled_owned(),
            done: false,
        }
    }
}

impl<S, T> Stream for UntilCancelled<S>
where
    S: Stream<Item = Result<T, Status>>,
{
    type Item = Result<T, Status>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        if this.cancelled.poll(cx).is_ready() {
            *this.done = true;
            return Poll::Ready(Some(Err(shutting_down())));
        }
        this.inner.poll_next(cx)
    }
}

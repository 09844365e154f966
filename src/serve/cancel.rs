//! Ends reply streams with a status instead of cutting them off: UNAVAILABLE when the
//! shutdown grace period runs out, DEADLINE_EXCEEDED past `--max-rpc-duration`.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use pin_project_lite::pin_project;
use tokio::time::Sleep;
use tokio_stream::Stream;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tonic::Status;

pub fn shutting_down() -> Status {
    Status::unavailable(
        "server is shutting down and the grace period is over; retry on another server",
    )
}

pub fn too_long(limit: Duration) -> Status {
    Status::deadline_exceeded(format!(
        "the RPC ran longer than the server's --max-rpc-duration of {}",
        humantime::format_duration(limit)
    ))
}

pin_project! {
    pub struct UntilCancelled<S> {
        #[pin]
        inner: S,
        #[pin]
        cancelled: WaitForCancellationFutureOwned,
        deadline: Option<(Pin<Box<Sleep>>, Duration)>,
        done: bool,
    }
}

impl<S> UntilCancelled<S> {
    pub fn new(inner: S, token: CancellationToken, max_duration: Option<Duration>) -> Self {
        Self {
            inner,
            cancelled: token.cancelled_owned(),
            deadline: max_duration.map(|limit| (Box::pin(tokio::time::sleep(limit)), limit)),
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
        if let Some((sleep, limit)) = this.deadline.as_mut() {
            if sleep.as_mut().poll(cx).is_ready() {
                *this.done = true;
                return Poll::Ready(Some(Err(too_long(*limit))));
            }
        }
        this.inner.poll_next(cx)
    }
}

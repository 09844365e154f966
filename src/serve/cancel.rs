//! Ends reply streams with a status instead of cutting them off: UNAVAILABLE when the
//! shutdown grace period runs out, DEADLINE_EXCEEDED past `--max-rpc-duration`.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll, Waker},
    time::Duration,
};

use pin_project_lite::pin_project;
use tokio::time::Sleep;
use tokio_stream::Stream;
use tokio_util::sync::WaitForCancellationFutureOwned;
use tonic::Status;

use crate::stop::Stop;

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
    /// A reply stream that ends with a status when `stop` is given or the RPC's time is up.
    pub struct UntilCancelled<S> {
        #[pin]
        inner: S,
        stop: Stop,
        #[pin]
        stopped: WaitForCancellationFutureOwned,
        deadline: Option<(Pin<Box<Sleep>>, Duration)>,
        // The task the wake-ups are registered for: while it polls, registering again
        // would only repeat the same registration.
        registered: Option<Waker>,
        done: bool,
    }
}

impl<S> UntilCancelled<S> {
    pub fn new(inner: S, stop: Stop, max_duration: Option<Duration>) -> Self {
        Self {
            inner,
            stopped: stop.given_owned(),
            stop,
            deadline: max_duration.map(|limit| (Box::pin(tokio::time::sleep(limit)), limit)),
            registered: None,
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
        let same_task = this
            .registered
            .as_ref()
            .is_some_and(|waker| waker.will_wake(cx.waker()));
        if !same_task {
            // Registers this task for both wake-ups; their results are read below.
            let _ = this.stopped.poll(cx);
            if let Some((sleep, _)) = this.deadline.as_mut() {
                let _ = sleep.as_mut().poll(cx);
            }
            *this.registered = Some(cx.waker().clone());
        }
        if this.stop.is_given() {
            *this.done = true;
            return Poll::Ready(Some(Err(shutting_down())));
        }
        if let Some((sleep, limit)) = this.deadline.as_ref() {
            if sleep.is_elapsed() {
                *this.done = true;
                return Poll::Ready(Some(Err(too_long(*limit))));
            }
        }
        this.inner.poll_next(cx)
    }
}

//! The future of a layer that either calls the inner service or answers at once with a
//! status (trailers-only), without running any handler.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use pin_project_lite::pin_project;
use tonic::{body::Body, Status};

pin_project! {
    #[project = OrRefusedProj]
    pub enum OrRefused<F> {
        Called { #[pin] inner: F },
        Refused { response: Option<http::Response<Body>> },
    }
}

impl<F> OrRefused<F> {
    pub fn refuse(status: Status) -> Self {
        OrRefused::Refused {
            response: Some(status.into_http()),
        }
    }
}

impl<F, E> Future for OrRefused<F>
where
    F: Future<Output = Result<http::Response<Body>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            OrRefusedProj::Called { inner } => inner.poll(cx),
            OrRefusedProj::Refused { response } => {
                Poll::Ready(Ok(response.take().unwrap_or_default()))
            }
        }
    }
}

//! The server's fault and echo layer: validates the `x-grpcstream-*` controls (INVALID_ARGUMENT
//! naming a malformed header), hands them to the handlers, echoes
//! `x-grpcstream-echo-initial` / `-echo-trailing-bin` (as the interop `custom_metadata` case
//! does), resets streams for `x-grpcstream-abort-after`, and injects `--chaos-rate` failures.
//! Requests without controls pass through untouched.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    task::{ready, Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use http_body::{Body as HttpBody, Frame};
use pin_project_lite::pin_project;
use tonic::{body::Body, Status};
use tower::{Layer, Service};
use tracing::warn;

use super::{controls::Controls, refusal::OrRefused};

const ECHO_INITIAL: HeaderName = HeaderName::from_static("x-grpcstream-echo-initial");
const ECHO_TRAILING: HeaderName = HeaderName::from_static("x-grpcstream-echo-trailing-bin");

#[derive(Clone)]
pub struct FaultsLayer {
    /// Fraction of RPCs that fail on purpose.
    chaos_rate: f64,
}

impl FaultsLayer {
    pub fn new(chaos_rate: f64) -> Self {
        Self { chaos_rate }
    }
}

impl<S> Layer<S> for FaultsLayer {
    type Service = Faults<S>;

    fn layer(&self, inner: S) -> Faults<S> {
        Faults {
            inner,
            chaos_rate: self.chaos_rate,
        }
    }
}

#[derive(Clone)]
pub struct Faults<S> {
    inner: S,
    chaos_rate: f64,
}

/// What to do to one response.
struct Plan {
    echo_initial: Option<HeaderValue>,
    echo_trailing: Option<HeaderValue>,
    abort: Option<Arc<AtomicBool>>,
}

impl<S> Service<http::Request<Body>> for Faults<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>>,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = OrRefused<Planned<S::Future>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        let controls = match Controls::parse(request.headers()) {
            Ok(controls) => controls,
            Err(status) => return OrRefused::refuse(status),
        };
        let chaos = self.chaos_rate > 0.0 && fastrand::f64() < self.chaos_rate;
        if chaos && fastrand::bool() {
            warn!(
                method = request.uri().path(),
                "chaos: failing this RPC with UNAVAILABLE"
            );
            return OrRefused::refuse(Status::unavailable("injected by --chaos-rate"));
        }
        let mut abort = controls
            .as_ref()
            .filter(|c| c.abort_after.is_some())
            .map(|c| c.abort.clone());
        if chaos {
            warn!(
                method = request.uri().path(),
                "chaos: resetting this RPC's stream"
            );
            abort = Some(Arc::new(AtomicBool::new(true)));
        }
        let plan = Plan {
            echo_initial: request.headers().get(ECHO_INITIAL).cloned(),
            echo_trailing: request.headers().get(ECHO_TRAILING).cloned(),
            abort,
        };
        if let Some(controls) = controls {
            request.extensions_mut().insert(controls);
        }
        let untouched =
            plan.echo_initial.is_none() && plan.echo_trailing.is_none() && plan.abort.is_none();
        OrRefused::Called {
            inner: Planned {
                inner: self.inner.call(request),
                plan: (!untouched).then_some(plan),
            },
        }
    }
}

pin_project! {
    /// The inner call, with what to do to its response.
    pub struct Planned<F> {
        #[pin]
        inner: F,
        plan: Option<Plan>,
    }
}

impl<F, E> Future for Planned<F>
where
    F: Future<Output = Result<http::Response<Body>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let (inner, plan) = (this.inner, this.plan);
        let response = ready!(inner.poll(cx))?;
        let Some(plan) = plan.take() else {
            return Poll::Ready(Ok(response));
        };
        let (mut parts, body) = response.into_parts();
        if let Some(value) = plan.echo_initial {
            parts.headers.insert(ECHO_INITIAL, value);
        }
        // A trailers-only response (an immediate error) has its trailers in the headers.
        let mut trailing = plan.echo_trailing;
        if parts.headers.contains_key("grpc-status") {
            if let Some(value) = trailing.take() {
                parts.headers.insert(ECHO_TRAILING, value);
            }
        }
        let body = Body::new(FaultBody {
            inner: body,
            trailing,
            abort: plan.abort,
            flush: None,
        });
        Poll::Ready(Ok(http::Response::from_parts(parts, body)))
    }
}

/// How long the replies before an abort get to leave: h2 drops frames still queued when a
/// stream is reset, so resetting at once could lose the very replies the client must see.
const ABORT_FLUSH: Duration = Duration::from_millis(100);

pin_project! {
    struct FaultBody {
        #[pin]
        inner: Body,
        trailing: Option<HeaderValue>,
        abort: Option<Arc<AtomicBool>>,
        flush: Option<Pin<Box<tokio::time::Sleep>>>,
    }
}

impl FaultBody {
    fn reset(
        flush: &mut Option<Pin<Box<tokio::time::Sleep>>>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let sleep = flush.get_or_insert_with(|| Box::pin(tokio::time::sleep(ABORT_FLUSH)));
        ready!(sleep.as_mut().poll(cx));
        // A body error makes hyper reset the stream (RST_STREAM), as a crash would.
        Poll::Ready(Some(Err(Status::internal(
            "stream reset by x-grpcstream-abort-after or --chaos-rate",
        ))))
    }
}

impl HttpBody for FaultBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = self.project();
        let aborting = |abort: &Option<Arc<AtomicBool>>| {
            abort.as_ref().is_some_and(|a| a.load(Ordering::Relaxed))
        };
        if this.flush.is_some() || aborting(this.abort) {
            return FaultBody::reset(this.flush, cx);
        }
        let frame = ready!(this.inner.poll_frame(cx));
        // The replies before the abort still go out; only the clean end is replaced.
        let is_data = matches!(&frame, Some(Ok(f)) if f.is_data());
        if !is_data && aborting(this.abort) {
            return FaultBody::reset(this.flush, cx);
        }
        Poll::Ready(frame.map(|frame| {
            frame.map(
                |frame| match (frame.into_trailers(), this.trailing.take()) {
                    (Ok(mut trailers), Some(value)) => {
                        trailers.insert(ECHO_TRAILING, value);
                        Frame::trailers(trailers)
                    }
                    (Ok(trailers), None) => Frame::trailers(trailers),
                    (Err(frame), value) => {
                        *this.trailing = value;
                        frame
                    }
                },
            )
        }))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
}

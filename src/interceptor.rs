//! The timing interceptor: one tower layer, used by the server and by every client, that
//! writes one `info` line per finished RPC: side, method, peer, gRPC status, messages each
//! way, time to the first reply and total time.
//!
//! It is a layer rather than a tonic `Interceptor` because an interceptor only sees the
//! request: a streaming RPC ends when the response body yields its trailers (or is dropped),
//! long after the handler returned. Messages are counted from the gRPC length-prefixed
//! framing of the bodies, so no message is decoded twice.

use std::{
    fmt,
    net::SocketAddr,
    pin::Pin,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    task::{ready, Context, Poll},
    time::{Duration, Instant},
};

use bytes::Bytes;
use http::{uri::PathAndQuery, HeaderMap};
use http_body::{Body as HttpBody, Frame, SizeHint};
use pin_project_lite::pin_project;
use tonic::{body::Body, transport::server::TcpConnectInfo, Code};
use tower::{Layer, Service};

mod frames;

use frames::FrameCounter;

/// Which end of the RPC this process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Server,
    Client,
}

impl Side {
    fn as_str(self) -> &'static str {
        match self {
            Side::Server => "server",
            Side::Client => "client",
        }
    }
}

/// What an observer (the metrics) learns of every finished RPC.
#[derive(Debug)]
pub struct Finished<'a> {
    pub method: &'a str,
    /// The gRPC status name; a dropped stream counts as CANCELLED.
    pub status: &'static str,
    pub sent: u64,
    pub received: u64,
    pub duration: Duration,
}

/// Told when RPCs start and finish, beside the log line.
pub trait Observer: Send + Sync + 'static {
    fn started(&self, method: &str);
    fn finished(&self, rpc: &Finished<'_>);
}

/// The layer; clones share the in-flight count.
#[derive(Clone)]
pub struct TimingLayer {
    side: Side,
    /// The client's target, as the peer of its RPCs (the request URI holds only the path here).
    target: Option<Arc<str>>,
    in_flight: Arc<AtomicUsize>,
    observer: Option<Arc<dyn Observer>>,
}

impl TimingLayer {
    pub fn server() -> Self {
        Self {
            side: Side::Server,
            target: None,
            in_flight: Arc::default(),
            observer: None,
        }
    }

    pub fn client(target: &str) -> Self {
        Self {
            side: Side::Client,
            target: Some(target.into()),
            in_flight: Arc::default(),
            observer: None,
        }
    }

    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// RPCs started and not yet finished (response trailers not yet seen).
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }
}

impl<S> Layer<S> for TimingLayer {
    type Service = Timing<S>;

    fn layer(&self, inner: S) -> Timing<S> {
        Timing {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Timing<S> {
    inner: S,
    layer: TimingLayer,
}

impl<S, ResBody> Service<http::Request<Body>> for Timing<S>
where
    S: Service<http::Request<Body>, Response = http::Response<ResBody>>,
    S::Error: fmt::Display,
    ResBody: HttpBody<Data = Bytes>,
{
    type Response = http::Response<TimedBody<ResBody>>;
    type Error = S::Error;
    type Future = TimedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        // A client whose lines nobody reads (soak) skips the bookkeeping: it showed in
        // profiles at millions of messages per second. The server always counts (in-flight).
        let unread = self.layer.side == Side::Client
            && self.layer.observer.is_none()
            && !tracing::enabled!(target: "grpcstream::rpc", tracing::Level::INFO);
        if unread {
            return TimedFuture {
                inner: self.inner.call(req),
                rpc: None,
            };
        }
        let peer = match &self.layer.target {
            Some(target) => Peer::Target(target.clone()),
            None => Peer::Addr(
                req.extensions()
                    .get::<TcpConnectInfo>()
                    .and_then(TcpConnectInfo::remote_addr),
            ),
        };
        let rpc = Arc::new(Rpc {
            side: self.layer.side,
            method: req.uri().path_and_query().cloned(),
            peer,
            start: Instant::now(),
            request_messages: AtomicU64::new(0),
            in_flight: self.layer.in_flight.clone(),
            observer: self.layer.observer.clone(),
        });
        rpc.in_flight.fetch_add(1, Ordering::Relaxed);
        if let Some(observer) = &rpc.observer {
            observer.started(rpc.method_path());
        }
        let counted = Arc::clone(&rpc);
        let req = req.map(|body| {
            Body::new(RequestBody {
                inner: body,
                frames: FrameCounter::default(),
                rpc: counted,
            })
        });
        TimedFuture {
            inner: self.inner.call(req),
            rpc: Some(rpc),
        }
    }
}

/// What the log line needs to know about one RPC, shared by its request and response bodies.
struct Rpc {
    side: Side,
    method: Option<PathAndQuery>,
    peer: Peer,
    start: Instant,
    request_messages: AtomicU64,
    in_flight: Arc<AtomicUsize>,
    observer: Option<Arc<dyn Observer>>,
}

enum Peer {
    Addr(Option<SocketAddr>),
    Target(Arc<str>),
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Addr(Some(addr)) => addr.fmt(f),
            Peer::Target(target) => f.write_str(target),
            Peer::Addr(None) => f.write_str("-"),
        }
    }
}

/// How an RPC ended, as seen by this side.
enum Outcome {
    Status(Code),
    /// The body ended without `grpc-status`: not a valid gRPC response.
    NoStatus {
        http: u16,
    },
    /// The body was dropped before its end: the peer or the caller went away.
    Dropped,
    /// The transport failed (connect error, reset).
    Error(String),
}

impl Outcome {
    fn code_name(&self) -> &'static str {
        match self {
            Outcome::Status(code) => code_name(*code),
            Outcome::NoStatus { .. } => "UNKNOWN",
            Outcome::Dropped => "CANCELLED",
            Outcome::Error(_) => "UNAVAILABLE",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Status(code) => f.write_str(code_name(*code)),
            Outcome::NoStatus { http } => write!(f, "NO_GRPC_STATUS (HTTP {http})"),
            Outcome::Dropped => f.write_str("CANCELLED (stream dropped)"),
            Outcome::Error(err) => write!(f, "UNAVAILABLE ({err})"),
        }
    }
}

impl Rpc {
    fn method_path(&self) -> &str {
        self.method.as_ref().map_or("-", PathAndQuery::path)
    }

    fn finish(&self, outcome: Outcome, response_messages: u64, first_reply: Option<Duration>) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        let duration = self.start.elapsed();
        let requests = self.request_messages.load(Ordering::Relaxed);
        let (sent, received) = match self.side {
            Side::Server => (response_messages, requests),
            Side::Client => (requests, response_messages),
        };
        let method = self.method_path();
        if let Some(observer) = &self.observer {
            observer.finished(&Finished {
                method,
                status: outcome.code_name(),
                sent,
                received,
                duration,
            });
        }
        tracing::info!(
            target: "grpcstream::rpc",
            side = %self.side.as_str(),
            method = %method,
            peer = %self.peer,
            status = %outcome,
            sent,
            received,
            first_reply_ms = %Millis(first_reply),
            duration_ms = %Millis(Some(duration)),
            "rpc finished"
        );
    }
}

/// Milliseconds with microsecond precision, `-` when absent.
struct Millis(Option<Duration>);

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(d) => write!(f, "{:.3}", d.as_secs_f64() * 1e3),
            None => f.write_str("-"),
        }
    }
}

pin_project! {
    pub struct TimedFuture<F> {
        #[pin]
        inner: F,
        rpc: Option<Arc<Rpc>>,
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
                    if open.frames.feed(data) > 0 && open.first_reply.is_none() {
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
    struct RequestBody {
        #[pin]
        inner: Body,
        frames: FrameCounter,
        rpc: Arc<Rpc>,
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

fn grpc_status(headers: &HeaderMap) -> Option<Code> {
    let value = headers.get("grpc-status")?.to_str().ok()?;
    value.parse::<i32>().ok().map(Code::from_i32)
}

/// The canonical upper-case name of a status code, as grpc-go and grpcurl print it.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

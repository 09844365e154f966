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

use bytes::{Buf, Bytes};
use http::{uri::PathAndQuery, HeaderMap};
use http_body::{Body as HttpBody, Frame, SizeHint};
use pin_project_lite::pin_project;
use tonic::{body::Body, transport::server::TcpConnectInfo, Code};
use tower::{Layer, Service};

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

/// The layer; clones share the in-flight count.
#[derive(Debug, Clone)]
pub struct TimingLayer {
    side: Side,
    /// The client's target, as the peer of its RPCs (the request URI holds only the path here).
    target: Option<Arc<str>>,
    in_flight: Arc<AtomicUsize>,
}

impl TimingLayer {
    pub fn server() -> Self {
        Self {
            side: Side::Server,
            target: None,
            in_flight: Arc::default(),
        }
    }

    pub fn client(target: &str) -> Self {
        Self {
            side: Side::Client,
            target: Some(target.into()),
            in_flight: Arc::default(),
        }
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

#[derive(Debug, Clone)]
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
        });
        rpc.in_flight.fetch_add(1, Ordering::Relaxed);
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
    fn finish(&self, outcome: Outcome, response_messages: u64, first_reply: Option<Duration>) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        let requests = self.request_messages.load(Ordering::Relaxed);
        let (sent, received) = match self.side {
            Side::Server => (response_messages, requests),
            Side::Client => (requests, response_messages),
        };
        let method = self.method.as_ref().map_or("-", PathAndQuery::path);
        tracing::info!(
            target: "grpcstream::rpc",
            side = %self.side.as_str(),
            method = %method,
            peer = %self.peer,
            status = %outcome,
            sent,
            received,
            first_reply_ms = %Millis(first_reply),
            duration_ms = %Millis(Some(self.start.elapsed())),
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
        let Some(rpc) = this.rpc.take() else {
            unreachable!("TimedFuture polled after completion");
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
                open.finish(Outcome::Dropped);
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

/// Follows gRPC's length-prefixed framing (1 flag byte, 4 length bytes, payload) across
/// arbitrary chunk boundaries and counts complete messages.
#[derive(Debug, Default)]
struct FrameCounter {
    header: [u8; 5],
    header_len: usize,
    payload_left: usize,
    messages: u64,
}

impl FrameCounter {
    /// Consumes a chunk; returns how many messages it completed.
    fn feed(&mut self, chunk: &Bytes) -> u64 {
        let before = self.messages;
        let mut rest = chunk.chunk();
        while !rest.is_empty() {
            if self.header_len < 5 {
                let take = (5 - self.header_len).min(rest.len());
                self.header[self.header_len..self.header_len + take].copy_from_slice(&rest[..take]);
                self.header_len += take;
                rest = &rest[take..];
                if self.header_len == 5 {
                    let len = u32::from_be_bytes([
                        self.header[1],
                        self.header[2],
                        self.header[3],
                        self.header[4],
                    ]);
                    self.payload_left = len as usize;
                    self.complete_if_done();
                }
            } else {
                let take = self.payload_left.min(rest.len());
                self.payload_left -= take;
                rest = &rest[take..];
                self.complete_if_done();
            }
        }
        self.messages - before
    }

    fn complete_if_done(&mut self) {
        if self.header_len == 5 && self.payload_left == 0 {
            self.messages += 1;
            self.header_len = 0;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(len: usize) -> Vec<u8> {
        let mut v = vec![0u8];
        v.extend_from_slice(&(len as u32).to_be_bytes());
        v.extend(std::iter::repeat_n(b'x', len));
        v
    }

    #[test]
    fn counts_messages_split_across_chunks() {
        let mut all = frame(3);
        all.extend(frame(0));
        all.extend(frame(10));
        let mut counter = FrameCounter::default();
        let mut total = 0;
        // One byte at a time: every header and payload boundary falls inside a chunk.
        for byte in &all {
            total += counter.feed(&Bytes::copy_from_slice(&[*byte]));
        }
        assert_eq!(total, 3);
        assert_eq!(counter.feed(&Bytes::from(all)), 3);
    }

    #[test]
    fn an_incomplete_message_is_not_counted() {
        let mut counter = FrameCounter::default();
        let partial = &frame(8)[..9];
        assert_eq!(counter.feed(&Bytes::copy_from_slice(partial)), 0);
        assert_eq!(counter.feed(&Bytes::from_static(b"xxxx")), 1);
    }
}

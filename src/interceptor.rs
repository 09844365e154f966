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
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use bytes::Bytes;
use http::{uri::PathAndQuery, HeaderMap};
use http_body::Body as HttpBody;
use tonic::{body::Body, transport::server::TcpConnectInfo, Code};
use tower::{Layer, Service};

mod body;
mod frames;

use body::{RequestBody, TimedBody, TimedFuture};

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
    /// The most RPCs in flight at once since `take_peak_in_flight` last read it.
    peak_in_flight: Arc<AtomicUsize>,
    observer: Option<Arc<dyn Observer>>,
}

impl TimingLayer {
    pub fn server() -> Self {
        Self {
            side: Side::Server,
            target: None,
            in_flight: Arc::default(),
            peak_in_flight: Arc::default(),
            observer: None,
        }
    }

    pub fn client(target: &str) -> Self {
        Self {
            side: Side::Client,
            target: Some(target.into()),
            in_flight: Arc::default(),
            peak_in_flight: Arc::default(),
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

    /// The most RPCs in flight at once since the last call (or since the start).
    pub fn take_peak_in_flight(&self) -> usize {
        self.peak_in_flight
            .swap(self.in_flight(), Ordering::Relaxed)
            .max(self.in_flight())
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
        // When nobody reads the counts (no metrics, RPC lines off), counting messages is
        // skipped: it showed in profiles at millions of messages per second. A client (soak)
        // then skips the RPC entirely; the server still tracks it in flight (memory.rs).
        let read = self.layer.observer.is_some()
            || tracing::enabled!(target: "grpcstream::rpc", tracing::Level::INFO);
        if !read && self.layer.side == Side::Client {
            return TimedFuture::new(self.inner.call(req), None);
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
            counting: read,
            request_messages: AtomicU64::new(0),
            in_flight: self.layer.in_flight.clone(),
            observer: self.layer.observer.clone(),
        });
        let now = rpc.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        self.layer.peak_in_flight.fetch_max(now, Ordering::Relaxed);
        if let Some(observer) = &rpc.observer {
            observer.started(rpc.method_path());
        }
        let req = if read {
            let counted = Arc::clone(&rpc);
            req.map(|body| Body::new(RequestBody::new(body, counted)))
        } else {
            req
        };
        TimedFuture::new(self.inner.call(req), Some(rpc))
    }
}

/// What the log line needs to know about one RPC, shared by its request and response bodies.
struct Rpc {
    side: Side,
    method: Option<PathAndQuery>,
    peer: Peer,
    start: Instant,
    /// Whether messages are counted (see `Timing::call`); the RPC's end is tracked anyway.
    counting: bool,
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
    use std::convert::Infallible;

    use super::*;

    #[tokio::test]
    async fn a_server_whose_counts_nobody_reads_still_tracks_rpcs_in_flight(
    ) -> Result<(), Box<dyn std::error::Error>> {
        // No subscriber here: the RPC line is off, as at `warn`, and there is no observer.
        assert!(!tracing::enabled!(target: "grpcstream::rpc", tracing::Level::INFO));
        let layer = TimingLayer::server();
        let mut service = layer.layer(tower::service_fn(|_: http::Request<Body>| async {
            Ok::<_, Infallible>(http::Response::new(Body::empty()))
        }));
        let response = service.call(http::Request::new(Body::empty())).await?;
        // memory.rs reads this count to give memory back after a peak.
        assert_eq!((layer.in_flight(), layer.take_peak_in_flight()), (1, 1));
        drop(response);
        assert_eq!(layer.in_flight(), 0);
        Ok(())
    }
}

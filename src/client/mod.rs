//! The client side every subcommand shares: lazily connecting channels to the target over
//! our own TCP connector (which counts connections, so reconnects can be reported), wrapped
//! in the timing layer so each RPC gets its log line, with request bodies that end on their
//! last DATA frame (end.rs), over connections that write a scheduler round's frames at once
//! (src/coalesce.rs). soak calls over connections of its own making (direct/).

pub mod direct;
mod end;

use std::{
    io,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tonic::{
    client::Grpc,
    transport::{Channel, Endpoint},
};
use tower::{util::MapRequest, ServiceBuilder, ServiceExt};
use tracing::warn;

use tonic::codec::CompressionEncoding;

use self::direct::Direct;
use crate::{
    cli::Compression,
    coalesce::{Coalesce, CLIENT_POLLS},
    config::Target,
    interceptor::{Timing, TimingLayer},
    proto::echo_service_client::EchoServiceClient,
    tls::{self, TlsConnector},
};

pub type EchoClient = EchoServiceClient<TimedChannel>;

/// soak's client of any method, called with a codec of the caller's choice.
pub type EchoGrpc = Grpc<DirectChannel>;

/// soak's connections to one target, and how many TCP connections they have opened so far.
pub struct Clients {
    pub clients: Vec<EchoGrpc>,
    /// The connections under `clients`, one each, for calls made without tonic's `Grpc`
    /// (soak's client-stream and bidi calls).
    pub channels: Vec<DirectChannel>,
    pub connects: Arc<AtomicU64>,
}

/// What every client RPC goes through, over `S`.
pub type Layered<S> = Timing<MapRequest<S, fn(Request) -> Request>>;

/// A timed channel to the target (probe's).
pub type TimedChannel = Layered<Channel>;

/// A timed connection to the target of soak's own making.
pub type DirectChannel = Layered<Direct>;

type Request = http::Request<tonic::body::Body>;

/// `n` clients of any method (soak calls with codecs of its own), each with its own HTTP/2
/// connection, dialled by its first call.
pub fn connect_many(
    target: &Target,
    connect_timeout: Duration,
    compression: Compression,
    n: usize,
) -> anyhow::Result<Clients> {
    let connects = Arc::new(AtomicU64::new(0));
    let tls = tls_connector(target)?;
    let channels = (0..n)
        .map(|_| {
            Direct::new(target, tls.clone(), connect_timeout, connects.clone())
                .map(|direct| layered(direct, target.authority()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let clients = channels
        .iter()
        .map(|channel| echo_grpc(channel.clone(), compression))
        .collect();
    Ok(Clients {
        clients,
        channels,
        connects,
    })
}

/// Our settings on a tonic client: accept compressed replies, send compressed when asked,
/// take replies as large as the server's limit (50 MiB by default), not tonic's 4 MiB.
macro_rules! configured {
    ($client:expr, $compression:expr) => {{
        let client = $client
            .max_decoding_message_size(usize::MAX)
            .accept_compressed(CompressionEncoding::Gzip)
            .accept_compressed(CompressionEncoding::Zstd);
        match encoding($compression) {
            Some(encoding) => client.send_compressed(encoding),
            None => client,
        }
    }};
}

/// The EchoService client on `channel`.
pub fn echo_client(channel: TimedChannel, compression: Compression) -> EchoClient {
    configured!(EchoServiceClient::new(channel), compression)
}

/// tonic's client of any method on `channel`, with the same settings as [`echo_client`].
pub fn echo_grpc<S>(channel: S, compression: Compression) -> Grpc<S> {
    configured!(Grpc::new(channel), compression)
}

/// `n` lazily connecting channels (one HTTP/2 connection each) with the timing layer, and
/// the count of TCP connections they open.
pub fn channels(
    target: &Target,
    connect_timeout: Duration,
    n: usize,
) -> anyhow::Result<(Vec<TimedChannel>, Arc<AtomicU64>)> {
    let connects = Arc::new(AtomicU64::new(0));
    let tls = tls_connector(target)?;
    let endpoint = match tls {
        Some(_) => tls::endpoint(&target.uri)?,
        None => Endpoint::from(target.uri.clone()),
    }
    .connect_timeout(connect_timeout)
    .tcp_nodelay(true);
    let channels = (0..n)
        .map(|_| {
            let connects = connects.clone();
            let channel = match tls.clone() {
                Some(tls) => endpoint.connect_with_connector_lazy(tower::service_fn(
                    move |uri: http::Uri| {
                        let (tls, connects) = (tls.clone(), connects.clone());
                        async move {
                            let stream = tls.oneshot(uri).await?;
                            connects.fetch_add(1, Ordering::Relaxed);
                            Ok::<_, tls::TlsError>(stream)
                        }
                    },
                )),
                None => endpoint.connect_with_connector_lazy(tower::service_fn(
                    move |uri: http::Uri| {
                        let connects = connects.clone();
                        async move {
                            dial(&uri, connect_timeout, &connects)
                                .await
                                .map(|tcp| TokioIo::new(Coalesce::new(tcp, CLIENT_POLLS)))
                        }
                    },
                )),
            };
            layered(channel, target.authority())
        })
        .collect();
    Ok((channels, connects))
}

/// The TLS of an `https://` target, its files read now.
fn tls_connector(target: &Target) -> anyhow::Result<Option<TlsConnector>> {
    if !target.is_tls() {
        return Ok(None);
    }
    if target.tls.insecure_skip_verify {
        warn!("--insecure-skip-verify: the server's certificate is NOT verified; anyone in the path can read and change this traffic");
    }
    Ok(Some(TlsConnector::new(&target.tls)?))
}

/// What every client RPC goes through: the timing layer (its log line), then requests that
/// end on their last DATA frame (end.rs).
pub fn layered<S>(service: S, target: &str) -> Layered<S> {
    ServiceBuilder::new()
        .layer(TimingLayer::client(target))
        .map_request(end::end_aware as fn(_) -> _)
        .service(service)
}

/// tonic's name for a compression choice; `None` sends uncompressed.
pub fn encoding(compression: Compression) -> Option<CompressionEncoding> {
    match compression {
        Compression::None => None,
        Compression::Gzip => Some(CompressionEncoding::Gzip),
        Compression::Zstd => Some(CompressionEncoding::Zstd),
    }
}

async fn dial(uri: &http::Uri, timeout: Duration, connects: &AtomicU64) -> io::Result<TcpStream> {
    let authority = uri
        .authority()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the target has no host"))?;
    let tcp = tokio::time::timeout(timeout, tcp(authority.as_str()))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connection timed out"))??;
    connects.fetch_add(1, Ordering::Relaxed);
    Ok(tcp)
}

/// A TCP connection to `authority` (`host:port`), for HTTP/2 without TLS.
async fn tcp(authority: &str) -> io::Result<TcpStream> {
    let tcp = TcpStream::connect(authority).await?;
    // Small messages must not wait for Nagle's algorithm.
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

impl Clients {
    pub fn connects(&self) -> u64 {
        self.connects.load(Ordering::Relaxed)
    }
}

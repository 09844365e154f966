//! The client side every subcommand shares: lazily connecting channels to the target over
//! our own TCP connector (which counts connections, so reconnects can be reported), wrapped
//! in the timing layer so each RPC gets its log line, with request bodies that end on their
//! last DATA frame (end.rs), over connections that write a scheduler round's frames at once
//! (src/coalesce.rs).

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

use crate::{
    cli::Compression,
    coalesce::{Coalesce, CLIENT_POLLS},
    config::Target,
    interceptor::{Timing, TimingLayer},
    proto::echo_service_client::EchoServiceClient,
    tls::{self, TlsConnector},
};

pub type EchoClient = EchoServiceClient<TimedChannel>;

/// A client of any method, called with a codec of the caller's choice.
pub type EchoGrpc = Grpc<TimedChannel>;

/// Channels to one target, and how many TCP connections they have opened so far.
pub struct Clients {
    pub clients: Vec<EchoGrpc>,
    /// The channels under `clients`, one per connection, for calls made without tonic's
    /// `Grpc` (soak's client-stream and bidi calls).
    pub channels: Vec<TimedChannel>,
    pub connects: Arc<AtomicU64>,
}

/// A timed channel to the target.
pub type TimedChannel = Timing<MapRequest<Channel, fn(Request) -> Request>>;

type Request = http::Request<tonic::body::Body>;

/// `n` clients of any method (soak calls with codecs of its own), each with its own HTTP/2
/// connection.
pub fn connect_many(
    target: &Target,
    connect_timeout: Duration,
    compression: Compression,
    n: usize,
) -> anyhow::Result<Clients> {
    let (channels, connects) = channels(target, connect_timeout, n)?;
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
pub fn echo_grpc(channel: TimedChannel, compression: Compression) -> EchoGrpc {
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
    let tls = if target.is_tls() {
        if target.tls.insecure_skip_verify {
            warn!("--insecure-skip-verify: the server's certificate is NOT verified; anyone in the path can read and change this traffic");
        }
        Some(TlsConnector::new(&target.tls)?)
    } else {
        None
    };
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

/// What every client RPC goes through: the timing layer (its log line), then requests that
/// end on their last DATA frame (end.rs).
pub fn layered(channel: Channel, target: &str) -> TimedChannel {
    ServiceBuilder::new()
        .layer(TimingLayer::client(target))
        .map_request(end::end_aware as fn(_) -> _)
        .service(channel)
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
    let tcp = tokio::time::timeout(timeout, TcpStream::connect(authority.as_str()))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connection timed out"))??;
    // Small messages must not wait for Nagle's algorithm.
    tcp.set_nodelay(true)?;
    connects.fetch_add(1, Ordering::Relaxed);
    Ok(tcp)
}

impl Clients {
    pub fn connects(&self) -> u64 {
        self.connects.load(Ordering::Relaxed)
    }
}

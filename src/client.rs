//! The client side every subcommand shares: lazily connecting channels to the target over
//! our own TCP connector (which counts connections, so reconnects can be reported), wrapped
//! in the timing layer so each RPC gets its log line.

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
use tonic::transport::{Channel, Endpoint};
use tower::{ServiceBuilder, ServiceExt};
use tracing::warn;

use crate::{
    config::Target,
    interceptor::{Timing, TimingLayer},
    proto::echo_service_client::EchoServiceClient,
    tls::{self, TlsConnector},
};

pub type EchoClient = EchoServiceClient<Timing<Channel>>;

/// Channels to one target, and how many TCP connections they have opened so far.
pub struct Clients {
    pub clients: Vec<EchoClient>,
    pub connects: Arc<AtomicU64>,
}

/// One client that connects on first use and reconnects after failures by itself, so a
/// server that comes back is picked up without a restart.
pub fn connect_lazy(target: &Target, connect_timeout: Duration) -> anyhow::Result<EchoClient> {
    let mut clients = connect_many(target, connect_timeout, 1)?.clients;
    clients
        .pop()
        .ok_or_else(|| anyhow::anyhow!("no client was created"))
}

/// `n` clients, each with its own HTTP/2 connection.
pub fn connect_many(
    target: &Target,
    connect_timeout: Duration,
    n: usize,
) -> anyhow::Result<Clients> {
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
    let clients = (0..n)
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
                                .map(TokioIo::new)
                        }
                    },
                )),
            };
            let timed = ServiceBuilder::new()
                .layer(TimingLayer::client(target.authority()))
                .service(channel);
            // Replies can be as large as the server's limit (50 MiB by default), not tonic's 4 MiB.
            EchoServiceClient::new(timed).max_decoding_message_size(usize::MAX)
        })
        .collect();
    Ok(Clients { clients, connects })
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

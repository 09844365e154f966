//! `grpcstream serve`: binds, assembles the server (limits, timing layer, echo service),
//! and runs it until a graceful shutdown completes or its grace period runs out.

mod auth;
mod cancel;
mod conn;
mod controls;
mod discovery;
pub mod echo;
mod faults;
mod limits;
mod memory;
pub mod metrics;
mod protocol;
mod refusal;
pub mod wire;

pub use crate::stop::Stop;

use std::{io, net::SocketAddr, time::Duration};

use anyhow::Context;
use bytesize::ByteSize;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::{codec::CompressionEncoding, transport::Server};
use tracing::{info, warn};

use crate::{
    client, coalesce::SERVER_POLLS, config::ServeConfig, interceptor::TimingLayer,
    proto::serving::echo_service_server::EchoServiceServer, tls,
};

/// After the grace period, how long cancelled streams get to deliver their final status.
const FLUSH_AFTER_CANCEL: Duration = Duration::from_millis(500);

/// Binds `config.addr` and serves until `shutdown` is cancelled.
pub async fn run(config: ServeConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    let listener = bind(config.addr).await?;
    serve(listener, config, shutdown).await
}

/// Binds the listening socket, explaining the usual failures.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|err| {
        let hint = match err.kind() {
            io::ErrorKind::AddrInUse => {
                "the port is already in use: stop the other server or choose another --port"
            }
            io::ErrorKind::AddrNotAvailable => {
                "this machine has no such address: use --listen [::] or 0.0.0.0"
            }
            io::ErrorKind::PermissionDenied => {
                "ports below 1024 need privileges: choose a --port above 1023"
            }
            _ => "check --listen and --port",
        };
        anyhow::Error::new(err).context(format!("cannot listen on {addr} ({hint})"))
    })
}

/// Serves on an already-bound listener (tests bind `127.0.0.1:0`). Returns when the
/// shutdown completed: at once when no RPC is running, or at the latest after the grace
/// period, when the remaining RPCs are ended with UNAVAILABLE.
pub async fn serve(
    listener: TcpListener,
    config: ServeConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let local = listener
        .local_addr()
        .context("cannot read the listening address")?;
    let max = config.max_message_size;
    let mut timing = TimingLayer::server();
    // Helper tasks (metrics, memory) run through the grace period and stop when this
    // function returns.
    let helpers_stop = CancellationToken::new();
    let _helpers_guard = helpers_stop.clone().drop_guard();
    if let Some(addr) = config.metrics_listen {
        let metrics = metrics::Metrics::new();
        timing = timing.with_observer(metrics.clone());
        let listener = bind(addr).await.context("cannot serve metrics")?;
        tokio::spawn(metrics::serve(listener, metrics, helpers_stop.clone()));
    }
    tokio::spawn(memory::give_back_after_peaks(
        timing.clone(),
        helpers_stop.clone(),
    ));
    let stop = Stop::default();
    let service = echo::Echo::new(config.echo.clone(), max, stop.clone())
        .with_max_duration(config.limits.max_rpc_duration);
    let mut echo = EchoServiceServer::new(service)
        .max_decoding_message_size(max)
        .max_encoding_message_size(max)
        .accept_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Zstd);
    // Sent compressed only to clients that say they accept it (grpc-accept-encoding).
    if let Some(encoding) = client::encoding(config.compression) {
        echo = echo.send_compressed(encoding);
    }

    let e = &config.echo;
    info!(
        workers = tokio::runtime::Handle::current().metrics().num_workers(),
        max_message_size = %ByteSize(max as u64).display().iec(),
        grace = %humantime::format_duration(config.grace),
        server_stream = %format_args!("{}x{}", e.server_stream_count, humantime::format_duration(e.server_stream_interval)),
        async_queue = e.async_queue,
        async_delay = %humantime::format_duration(e.async_delay),
        tls = config.tls.as_ref().map_or("off", |t| if t.client_ca.is_some() { "mutual" } else { "on" }),
        reflection = config.reflection,
        auth = config.auth_token.is_some(),
        compression = ?config.compression,
        "listening on {local}"
    );

    let (health, health_service) = discovery::Health::serving().await;
    let mut builder = Server::builder();
    if let Some(files) = &config.tls {
        let tls = tls::server_tls(&files.cert, &files.key, files.client_ca.as_deref())?;
        builder = builder
            .tls_config(tls)
            .context("cannot use the TLS settings")?;
    }
    let limits = &config.limits;
    // TLS runs above these connections, and its handshake flushes a flight and then waits
    // for the client without another read after that flush: put off, the flight would never
    // leave. So under TLS every flush writes (a flush's frames still leave together).
    let polls = if config.tls.is_some() {
        0
    } else {
        SERVER_POLLS
    };
    let incoming = conn::incoming(
        listener,
        limits.max_connections,
        limits.handshake_timeout,
        polls,
    );
    let mut router = builder
        .max_concurrent_streams(limits.max_concurrent_streams)
        .http2_keepalive_interval(Some(limits.keepalive_interval))
        .http2_keepalive_timeout(Some(limits.keepalive_timeout))
        .initial_stream_window_size(limits.stream_window)
        .initial_connection_window_size(limits.connection_window)
        .layer(timing.clone())
        .layer(protocol::GrpcOnlyLayer)
        .layer(tower::util::option_layer(
            config.auth_token.as_deref().map(auth::AuthLayer::new),
        ))
        .layer(faults::FaultsLayer::new(config.chaos_rate))
        .layer(limits::layer())
        .add_service(health_service)
        .add_service(echo);
    if config.reflection {
        router = discovery::with_reflection(router).context("cannot build server reflection")?;
    }
    let server = router.serve_with_incoming_shutdown(incoming, shutdown.clone().cancelled_owned());
    tokio::pin!(server);

    tokio::select! {
        // The server watches the same token: on shutdown both are ready, and this must win.
        biased;
        _ = shutdown.cancelled() => {}
        result = &mut server => return result.context("the server stopped unexpectedly"),
    }
    health.not_serving().await;
    info!(
        in_flight = timing.in_flight(),
        "shutting down: refusing new connections, waiting up to {} for running RPCs",
        humantime::format_duration(config.grace)
    );
    if let Ok(result) = tokio::time::timeout(config.grace, &mut server).await {
        info!("shutdown complete");
        return result.context("the server failed while shutting down");
    }
    warn!(
        in_flight = timing.in_flight(),
        "grace period over: ending the remaining RPCs with UNAVAILABLE"
    );
    stop.give();
    let _ = tokio::time::timeout(FLUSH_AFTER_CANCEL, &mut server).await;
    Ok(())
}

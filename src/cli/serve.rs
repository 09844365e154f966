//! The flags of `grpcstream serve`.

use std::{net::IpAddr, path::PathBuf, time::Duration};

use clap::Args;

use super::Compression;

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// TCP port to listen on (0 picks a free one; the start-up line says which).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,

    /// IP address to listen on: `[::]` (all, IPv6 and IPv4), `0.0.0.0`, `127.0.0.1`, `[::1]`.
    #[arg(long, value_name = "ADDR", default_value = "[::]", value_parser = super::parse_ip)]
    pub listen: IpAddr,

    /// Largest message accepted or sent, both directions; larger ones fail with RESOURCE_EXHAUSTED.
    #[arg(long, value_name = "SIZE", default_value = "50MiB", value_parser = super::parse_size)]
    pub max_message_size: u64,

    /// On SIGINT/SIGTERM, how long in-flight RPCs may run on before they are cancelled.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = humantime::parse_duration)]
    pub grace: Duration,

    /// EchoServerStream: replies per request.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub server_stream_count: u32,

    /// EchoServerStream: pause between two replies.
    #[arg(long, value_name = "DURATION", default_value = "100ms", value_parser = humantime::parse_duration)]
    pub server_stream_interval: Duration,

    /// EchoBidirectionalStreamAsync: capacity of the queue between receiver and worker.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub async_queue: u32,

    /// EchoBidirectionalStreamAsync: processing time per message before its reply.
    #[arg(long, value_name = "DURATION", default_value = "200ms", value_parser = humantime::parse_duration)]
    pub async_delay: Duration,

    /// Serve TLS with this PEM certificate (chain) (with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Require client certificates signed by this PEM CA (mutual TLS); others are refused.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,

    /// Do not serve gRPC server reflection (grpcurl list/describe).
    #[arg(long)]
    pub no_reflection: bool,

    /// Require `authorization: Bearer <token>` on every RPC but health checks, with the token in this file.
    #[arg(long, value_name = "FILE")]
    pub auth_token_file: Option<PathBuf>,

    /// Compress replies to clients that accept it (requests are accepted in gzip and zstd).
    #[arg(long, value_enum, default_value_t = Compression::None)]
    pub compression: Compression,

    /// Open connections at most; further ones are closed at once.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Streams (RPCs) at once on one connection; more wait for a free slot (HTTP/2 SETTINGS).
    #[arg(long, value_name = "N", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrent_streams: u32,

    /// A connection must start HTTP/2 within this, or it is closed (slow or silent clients).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    pub handshake_timeout: Duration,

    /// Send an HTTP/2 PING after this long without traffic from the client…
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = humantime::parse_duration)]
    pub keepalive_interval: Duration,

    /// …and close the connection when its answer takes longer than this.
    #[arg(long, value_name = "DURATION", default_value = "20s", value_parser = humantime::parse_duration)]
    pub keepalive_timeout: Duration,

    /// HTTP/2 flow-control window of each stream: what one stream may buffer unread.
    #[arg(long, value_name = "SIZE", default_value = "1MiB", value_parser = super::parse_size)]
    pub stream_window: u64,

    /// HTTP/2 flow-control window of each connection, all its streams together.
    #[arg(long, value_name = "SIZE", default_value = "2MiB", value_parser = super::parse_size)]
    pub connection_window: u64,

    /// End any RPC still running after this with DEADLINE_EXCEEDED [default: no limit].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub max_rpc_duration: Option<Duration>,

    /// Fail this fraction of RPCs on purpose (half UNAVAILABLE, half stream resets), to test clients' retries.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0)]
    pub chaos_rate: f64,

    /// Serve Prometheus metrics over HTTP at this address (e.g. 127.0.0.1:9100) [default: off].
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<std::net::SocketAddr>,
}

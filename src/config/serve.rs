//! Settings of `grpcstream serve`: the demo behaviour, the limits, TLS and the rest.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use super::{read_token, ConfigError};
use crate::cli::{self, Cli, Compression};

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub addr: SocketAddr,
    /// Serve TLS instead of plaintext.
    pub tls: Option<ServeTls>,
    /// Serve grpc.reflection v1 and v1alpha.
    pub reflection: bool,
    /// Required bearer token, if any.
    pub auth_token: Option<String>,
    /// Compression of replies.
    pub compression: Compression,
    /// Where to serve Prometheus metrics.
    pub metrics_listen: Option<SocketAddr>,
    /// Fraction of RPCs failed on purpose.
    pub chaos_rate: f64,
    /// Largest encoded message accepted or sent, in bytes.
    pub max_message_size: usize,
    pub grace: Duration,
    pub echo: EchoConfig,
    pub limits: Limits,
}

/// What keeps one client or one connection from taking the server down.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_connections: usize,
    pub max_concurrent_streams: u32,
    pub handshake_timeout: Duration,
    pub keepalive_interval: Duration,
    pub keepalive_timeout: Duration,
    pub stream_window: u32,
    pub connection_window: u32,
    pub max_rpc_duration: Option<Duration>,
}

/// The server's TLS files.
#[derive(Debug, Clone)]
pub struct ServeTls {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Mutual TLS: the CA client certificates must be signed by.
    pub client_ca: Option<PathBuf>,
}

/// The demo behaviour of the four RPCs.
#[derive(Debug, Clone)]
pub struct EchoConfig {
    pub server_stream_count: u32,
    pub server_stream_interval: Duration,
    pub async_queue: usize,
    pub async_delay: Duration,
}

impl Default for ServeConfig {
    /// The documented defaults: `grpcstream serve` with no flags, environment or file.
    fn default() -> Self {
        use clap::Parser;
        let Ok(cli::Command::Serve(args)) =
            Cli::try_parse_from(["grpcstream", "serve"]).map(|c| c.command)
        else {
            unreachable!("`grpcstream serve` parses");
        };
        let Ok(cfg) = resolve_serve(args) else {
            unreachable!("the built-in defaults are valid");
        };
        cfg
    }
}

pub(super) fn resolve_serve(args: cli::ServeArgs) -> Result<ServeConfig, ConfigError> {
    // gRPC frames carry a 32-bit length.
    let max_message_size = usize::try_from(args.max_message_size)
        .ok()
        .filter(|&n| n > 0 && n <= u32::MAX as usize)
        .ok_or_else(|| {
            ConfigError::Invalid(format!(
                "--max-message-size {} is out of range: use 1 byte to 4GiB",
                args.max_message_size
            ))
        })?;
    Ok(ServeConfig {
        addr: SocketAddr::new(args.listen, args.port),
        tls: match (args.tls_cert, args.tls_key) {
            (Some(cert), Some(key)) => Some(ServeTls {
                cert,
                key,
                client_ca: args.tls_client_ca,
            }),
            _ => None,
        },
        reflection: !args.no_reflection,
        auth_token: args
            .auth_token_file
            .as_deref()
            .map(read_token)
            .transpose()?,
        compression: args.compression,
        metrics_listen: args.metrics_listen,
        limits: Limits {
            max_connections: args.max_connections as usize,
            max_concurrent_streams: args.max_concurrent_streams,
            handshake_timeout: args.handshake_timeout,
            keepalive_interval: args.keepalive_interval,
            keepalive_timeout: args.keepalive_timeout,
            stream_window: window("--stream-window", args.stream_window)?,
            connection_window: window("--connection-window", args.connection_window)?,
            max_rpc_duration: args.max_rpc_duration,
        },
        chaos_rate: match args.chaos_rate {
            rate if (0.0..=1.0).contains(&rate) => rate,
            rate => {
                return Err(ConfigError::Invalid(format!(
                    "--chaos-rate {rate} must be a fraction from 0 to 1"
                )))
            }
        },
        max_message_size,
        grace: args.grace,
        echo: EchoConfig {
            server_stream_count: args.server_stream_count,
            server_stream_interval: args.server_stream_interval,
            async_queue: args.async_queue as usize,
            async_delay: args.async_delay,
        },
    })
}

/// HTTP/2 windows are 31-bit and at least the 64 KiB default of the protocol.
fn window(flag: &str, size: u64) -> Result<u32, ConfigError> {
    u32::try_from(size)
        .ok()
        .filter(|n| (65_535..=(1 << 31) - 1).contains(n))
        .ok_or_else(|| {
            ConfigError::Invalid(format!("{flag} {size} is out of range: use 64KiB to 2GiB"))
        })
}

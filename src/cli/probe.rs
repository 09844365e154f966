//! The flags of `grpcstream probe`, and those every client (probe, soak) shares.

use std::{path::PathBuf, time::Duration};

use clap::{Args, ValueEnum};

/// What `probe` exercises. The original client's short names are accepted too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProbePattern {
    /// EchoClientStream: several messages, one summary reply.
    #[value(alias = "client")]
    ClientStream,
    /// EchoServerStream: one message, several replies.
    #[value(alias = "server")]
    ServerStream,
    /// EchoBidirectionalStreamSync: one immediate reply per message.
    #[value(alias = "sync")]
    BidiSync,
    /// EchoBidirectionalStreamAsync: replies from a queue, sent and read concurrently.
    #[value(alias = "async")]
    BidiAsync,
    /// The four patterns, concurrently, each on its own schedule.
    All,
    /// grpc.health.v1.Health/Check, like grpc-health-probe: passes only when SERVING.
    Health,
    /// The streaming cases of the gRPC interop suite, adapted to this proto, each PASS/FAIL/SKIP.
    Conformance,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// One line per probe and a summary table.
    Text,
    /// One JSON object per probe and a summary object, newline-delimited.
    Json,
}

/// Message compression (gRPC `grpc-encoding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// What a client adds to every RPC.
#[derive(Debug, Clone, Args)]
pub struct CallArgs {
    /// Metadata sent with every RPC, as `key=value`; repeat for more.
    #[arg(long = "header", value_name = "KEY=VALUE", value_parser = super::parse_header)]
    pub headers: Vec<(String, String)>,

    /// Send `authorization: Bearer <token>` with the token in this file.
    #[arg(long, value_name = "FILE")]
    pub auth_token_file: Option<PathBuf>,

    /// Compress the messages sent (replies are accepted in gzip and zstd whatever this says).
    #[arg(long, value_enum, default_value_t = Compression::None)]
    pub compression: Compression,
}

/// How a client verifies and authenticates itself to an `https://` server.
#[derive(Debug, Clone, Args)]
pub struct ClientTlsArgs {
    /// PEM file of the CA that signed the server's certificate [default: the system's roots].
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// PEM certificate to present to a server that requires mutual TLS (with --client-key).
    #[arg(long, value_name = "FILE", requires = "client_key")]
    pub client_cert: Option<PathBuf>,

    /// PEM private key of --client-cert.
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    pub client_key: Option<PathBuf>,

    /// Name to verify the server's certificate against [default: the host of --server].
    #[arg(long, value_name = "NAME")]
    pub tls_server_name: Option<String>,

    /// Accept any server certificate. Only for test servers: anyone in the path can read and change the traffic.
    #[arg(long)]
    pub insecure_skip_verify: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ProbeArgs {
    /// What to exercise.
    #[arg(value_enum)]
    pub pattern: ProbePattern,

    /// The server: `host:port`, `http://host:port` or `https://host:port` (TLS).
    #[arg(long, value_name = "ADDR", default_value = "localhost:8080")]
    pub server: String,

    /// Probe once and exit; without it, probe repeatedly until Ctrl+C, then print a summary.
    #[arg(long)]
    pub once: bool,

    /// Messages per call for client-stream, bidi-sync and bidi-async [default: 3].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub messages: Option<u32>,

    /// Pause between two messages of a call [default: 500ms client-stream, 1s bidi-sync, 800ms bidi-async].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub message_gap: Option<Duration>,

    /// Pause between two probes of a pattern when repeating [default: 5s client-stream, 4s server-stream, 6s bidi-sync, 7s bidi-async].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub interval: Option<Duration>,

    /// Deadline of every RPC.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,

    /// Deadline for establishing the connection.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = humantime::parse_duration)]
    pub connect_timeout: Duration,

    /// `probe conformance`: how long the long-lived stream case holds its stream open.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    pub hold: Duration,

    /// `probe conformance`: the server's message size limit; one byte more must be refused.
    #[arg(long, value_name = "SIZE", default_value = "50MiB", value_parser = super::parse_size)]
    pub max_message_size: u64,

    /// `probe health`: the service to check [default: "", the whole server].
    #[arg(long, value_name = "NAME", default_value = "")]
    pub service: String,

    /// Replies expected from EchoServerStream (the server's --server-stream-count).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub server_stream_count: u32,

    /// Result format on stdout (logs go to stderr).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    #[command(flatten)]
    pub call: CallArgs,

    #[command(flatten)]
    pub tls: ClientTlsArgs,
}

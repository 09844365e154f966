//! The command line, declared with clap derive: what users type, and the `--help` text.
//!
//! Nothing here decides anything: `config` turns the parsed values into settings.
//! Every `--long` flag also reads `GRPCSTREAM_<LONG>` from the environment and
//! `long = value` from the config file (see [`command`]).

use std::{net::IpAddr, path::PathBuf, time::Duration};

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;

/// Serve, probe and soak-test gRPC streaming (api.stream.v1.EchoService).
#[derive(Debug, Parser)]
#[command(
    name = "grpcstream",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Read settings from this TOML file (flags > environment > file > defaults).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Log line format, on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Log at debug level, including every message's content.
    #[arg(long, short, global = true)]
    pub verbose: bool,

    /// Runtime worker threads [default: one per CPU core].
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub workers: Option<u16>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the echo server (the four streaming RPCs of api.stream.v1.EchoService).
    Serve(ServeArgs),
    /// Call a server's streaming RPCs and check every reply; the exit code tells the result.
    Probe(ProbeArgs),
    /// Load-test streaming: latency histograms, throughput, integrity, pass/fail gates.
    Soak(Box<SoakArgs>),
    /// Print a shell completion script to stdout.
    Completions {
        /// The shell to complete for.
        shell: Shell,
    },
    /// Print the man page (roff) to stdout.
    Man,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

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
    #[arg(long = "header", value_name = "KEY=VALUE", value_parser = parse_header)]
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
    #[arg(long, value_name = "SIZE", default_value = "50MiB", value_parser = parse_size)]
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

/// What `soak` runs on each stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SoakPattern {
    ClientStream,
    ServerStream,
    BidiSync,
    BidiAsync,
    /// Patterns drawn per stream with the weights of --mix.
    Mix,
}

#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SoakArgs {
    #[command(subcommand)]
    pub action: Option<SoakAction>,

    /// The server to soak (`host:port`, `http://…`, `https://…`); without it, an embedded
    /// server on 127.0.0.1 with no demo delays.
    #[arg(long, value_name = "ADDR")]
    pub server: Option<String>,

    /// The RPC every stream uses.
    #[arg(long, value_enum, default_value_t = SoakPattern::BidiSync)]
    pub pattern: SoakPattern,

    /// Weights for --pattern mix, e.g. `bidi-sync=70,client-stream=30` [default: all four equal].
    #[arg(long, value_name = "PATTERN=WEIGHT,…")]
    pub mix: Option<String>,

    /// Streams in flight at once.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub concurrency: u32,

    /// HTTP/2 connections the streams are spread over.
    #[arg(long, value_name = "M", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub connections: u32,

    /// How long to measure, after the warm-up.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration, conflicts_with = "streams")]
    pub duration: Duration,

    /// Stop after this many streams instead of after --duration.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub streams: Option<u64>,

    /// Load applied before measuring starts, excluded from the results.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = humantime::parse_duration)]
    pub warmup: Duration,

    /// Messages each stream sends (server-stream: replies it expects from the embedded server).
    #[arg(long, value_name = "K", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..), conflicts_with = "stream_duration")]
    pub messages_per_stream: u32,

    /// Keep each stream open this long instead (long-lived streams).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub stream_duration: Option<Duration>,

    /// Length of each message (the integrity header takes the first ~30 bytes).
    #[arg(long, value_name = "SIZE", default_value = "64B", value_parser = parse_size)]
    pub message_size: u64,

    /// Messages per second in total, paced open-loop (latency counts from the intended send
    /// time); without it, each stream sends as fast as the server takes messages.
    #[arg(long, value_name = "R")]
    pub rate: Option<f64>,

    /// Deadline of each stream (added to --stream-duration for long-lived streams).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,

    /// Deadline for establishing a connection.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = humantime::parse_duration)]
    pub connect_timeout: Duration,

    /// Replies an external server sends per EchoServerStream call (its --server-stream-count).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub server_stream_count: u32,

    /// `text` or `json` on stdout; `json FILE` writes the JSON report to FILE and the table to stdout.
    #[arg(long, value_names = ["FORMAT", "FILE"], num_args = 1..=2, default_value = "text")]
    pub output: Vec<String>,

    /// Fail (exit 1) when the p99 latency is above this.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub max_p99: Option<Duration>,

    /// Fail (exit 1) when more than this percentage of streams failed.
    #[arg(long, value_name = "PCT")]
    pub max_error_rate: Option<f64>,

    /// Fail (exit 1) when fewer messages per second came back.
    #[arg(long, value_name = "MSGS_PER_S")]
    pub min_throughput: Option<f64>,

    #[command(flatten)]
    pub call: CallArgs,

    #[command(flatten)]
    pub tls: ClientTlsArgs,
}

#[derive(Debug, Clone, Subcommand)]
pub enum SoakAction {
    /// Combine JSON reports of several runs (e.g. from several machines) into one, with exact percentiles.
    Merge {
        /// The reports, as written by `soak --output json FILE`.
        #[arg(required = true, num_args = 1.., value_name = "REPORT")]
        reports: Vec<PathBuf>,

        /// `text` or `json` on stdout; `json FILE` writes the merged report to FILE.
        #[arg(long, value_names = ["FORMAT", "FILE"], num_args = 1..=2, default_value = "text")]
        output: Vec<String>,
    },
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// TCP port to listen on (0 picks a free one; the start-up line says which).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,

    /// IP address to listen on: `[::]` (all, IPv6 and IPv4), `0.0.0.0`, `127.0.0.1`, `[::1]`.
    #[arg(long, value_name = "ADDR", default_value = "[::]", value_parser = parse_ip)]
    pub listen: IpAddr,

    /// Largest message accepted or sent, both directions; larger ones fail with RESOURCE_EXHAUSTED.
    #[arg(long, value_name = "SIZE", default_value = "50MiB", value_parser = parse_size)]
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
    #[arg(long, value_name = "SIZE", default_value = "1MiB", value_parser = parse_size)]
    pub stream_window: u64,

    /// HTTP/2 flow-control window of each connection, all its streams together.
    #[arg(long, value_name = "SIZE", default_value = "2MiB", value_parser = parse_size)]
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

/// The clap command with `GRPCSTREAM_<LONG>` environment variables on every long flag,
/// so the names cannot drift from the flags.
pub fn command() -> clap::Command {
    with_env(Cli::command())
}

fn with_env(cmd: clap::Command) -> clap::Command {
    cmd.mut_args(|arg| match arg.get_long() {
        Some(long) if long != "help" && long != "version" => {
            let name = format!("GRPCSTREAM_{}", long.to_uppercase().replace('-', "_"));
            arg.env(name)
        }
        _ => arg,
    })
    .mut_subcommands(with_env)
}

fn parse_ip(s: &str) -> Result<IpAddr, String> {
    let bare = s
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(s);
    bare.parse().map_err(|_| {
        format!("`{s}` is not an IP address (examples: [::], 0.0.0.0, 127.0.0.1, [::1]); set the port with --port")
    })
}

fn parse_header(s: &str) -> Result<(String, String), String> {
    let (key, value) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not `key=value`"))?;
    let key = key.trim().to_ascii_lowercase();
    tonic::metadata::MetadataKey::<tonic::metadata::Ascii>::from_bytes(key.as_bytes())
        .map_err(|_| format!("`{key}` is not a valid ASCII metadata key (lowercase letters, digits, `-`, `_`, `.`)"))?;
    tonic::metadata::MetadataValue::<tonic::metadata::Ascii>::try_from(value)
        .map_err(|_| format!("the value of `{key}` must be printable ASCII"))?;
    Ok((key, value.to_owned()))
}

/// Sizes like `64B`, `16KiB`, `50MiB` or a plain byte count.
pub fn parse_size(s: &str) -> Result<u64, String> {
    s.trim()
        .parse::<bytesize::ByteSize>()
        .map(|b| b.as_u64())
        .map_err(|e| format!("`{s}` is not a size (examples: 65536, 64KiB, 50MiB): {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bracketed_and_bare_ips() {
        assert_eq!(parse_ip("[::1]").ok(), "::1".parse().ok());
        assert_eq!(parse_ip("0.0.0.0").ok(), "0.0.0.0".parse().ok());
        assert!(parse_ip("127.0.0.1:80").is_err());
    }

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_size("50MiB"), Ok(50 * 1024 * 1024));
        assert_eq!(parse_size("64B"), Ok(64));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("lots").is_err());
    }
}

//! The flags of `grpcstream soak` and `soak merge`.

use std::{path::PathBuf, time::Duration};

use clap::{Args, Subcommand, ValueEnum};

use super::{CallArgs, ClientTlsArgs};

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
    #[arg(long, value_name = "SIZE", default_value = "64B", value_parser = super::parse_size)]
    pub message_size: u64,

    /// Messages per second in total, paced open-loop (latency counts from the intended send
    /// time); without it, each stream sends as fast as the server takes messages.
    #[arg(long, value_name = "R")]
    pub rate: Option<f64>,

    /// Bidi streams: at most N messages awaiting their echo (1: ping-pong, the next message
    /// only after the echo of the last) [default: as many as HTTP/2 flow control lets through].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub in_flight: Option<u32>,

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

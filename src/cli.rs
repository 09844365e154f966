//! The command line, declared with clap derive: what users type, and the `--help` text.
//!
//! Nothing here decides anything: `config` turns the parsed values into settings.
//! Every `--long` flag also reads `GRPCSTREAM_<LONG>` from the environment and
//! `long = value` from the config file (see [`command`]).

use std::{net::IpAddr, path::PathBuf};

mod probe;
mod serve;
mod soak;

pub use probe::{CallArgs, ClientTlsArgs, Compression, OutputFormat, ProbeArgs, ProbePattern};
pub use serve::ServeArgs;
pub use soak::{SoakAction, SoakArgs, SoakPattern};

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
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

    /// Runtime worker threads [default: one per CPU core]; with one, everything runs on one thread.
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

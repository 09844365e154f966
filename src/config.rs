//! Resolved, validated settings: flags > `GRPCSTREAM_*` environment > config file > defaults.
//!
//! The file is applied by turning its values into the defaults of the clap command, so a
//! file value goes through exactly the parser of its flag and precedence comes from clap.
//! Runners receive the types below, never clap's.

use std::{
    ffi::OsString,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::ExitCode,
    time::Duration,
};

mod file;
mod soak;

pub use soak::{Gates, MergeConfig, Output, SoakConfig, Stop, StreamLength};

use clap::FromArgMatches;

use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};

use crate::{
    cli::{self, Cli, Compression, LogFormat, OutputFormat, ProbePattern},
    contract::Pattern,
    exit_code,
    tls::ClientTls,
};

/// Everything a run needs, resolved once at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    pub log: LogConfig,
    /// Runtime worker threads; `None` means one per core.
    pub workers: Option<usize>,
    pub command: CommandConfig,
}

#[derive(Debug, Clone, Copy)]
pub struct LogConfig {
    pub format: LogFormat,
    pub verbose: bool,
    /// The per-RPC timing lines; a soak runs too many RPCs for them, unless --verbose.
    pub rpc_lines: bool,
}

#[derive(Debug, Clone)]
pub enum CommandConfig {
    Serve(ServeConfig),
    Probe(ProbeConfig),
    Man,
    Soak(SoakConfig),
    SoakMerge(MergeConfig),
    Completions(clap_complete::Shell),
}

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

/// Where a client connects, and how it verifies an `https://` server.
#[derive(Debug, Clone)]
pub struct Target {
    /// `http://host:port` or `https://host:port`.
    pub uri: http::Uri,
    pub tls: ClientTls,
}

impl Target {
    pub fn is_tls(&self) -> bool {
        self.uri.scheme_str() == Some("https")
    }

    /// `host:port`, as error messages name the server.
    pub fn authority(&self) -> &str {
        self.uri.authority().map_or("", |a| a.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct ProbeConfig {
    pub target: Target,
    /// Probed concurrently, each on its own schedule.
    pub patterns: Vec<Pattern>,
    /// `probe health`: the service whose health to check (`""` is the whole server).
    pub health: Option<String>,
    /// `probe conformance`: run the interop cases instead of patterns.
    pub conformance: Option<ConformanceConfig>,
    pub once: bool,
    pub messages: Option<u32>,
    pub message_gap: Option<Duration>,
    pub interval: Option<Duration>,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub server_stream_count: u32,
    pub output: OutputFormat,
    pub call: Call,
}

#[derive(Debug, Clone)]
pub struct ConformanceConfig {
    /// How long the long-lived stream case lasts.
    pub hold: Duration,
    /// The server's limit: a message one byte larger must get RESOURCE_EXHAUSTED.
    pub max_message_size: usize,
}

/// What a client adds to every RPC: metadata (with the bearer token) and compression.
#[derive(Debug, Clone)]
pub struct Call {
    pub headers: MetadataMap,
    pub compression: Compression,
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

/// Why the settings could not be resolved. Every variant is a usage error (exit 2),
/// except clap's `--help`/`--version`, which clap itself reports as success.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Cli(#[from] clap::Error),
    #[error("cannot read config file `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file `{}` is not valid TOML: {message}", path.display())]
    Syntax { path: PathBuf, message: String },
    #[error("config file `{}`: {message}", path.display())]
    File { path: PathBuf, message: String },
    #[error("{0}")]
    Invalid(String),
}

impl ConfigError {
    /// Prints the error the way the user expects for its kind and returns the exit code.
    pub fn report(&self) -> ExitCode {
        match self {
            ConfigError::Cli(err) => {
                let _ = err.print();
                ExitCode::from(err.exit_code().clamp(0, 255) as u8)
            }
            other => {
                eprintln!("error: {other}");
                exit_code::USAGE.into()
            }
        }
    }
}

/// Parses the command line (and the environment and config file it points to).
pub fn load<I, T>(args: I) -> Result<Config, ConfigError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let first = cli::command().try_get_matches_from(&args)?;
    let matches = match first.get_one::<PathBuf>("config") {
        None => first,
        Some(path) => {
            let cmd = file::with_file_defaults(cli::command(), path)?;
            cmd.try_get_matches_from(&args)?
        }
    };
    resolve(Cli::from_arg_matches(&matches)?)
}

fn resolve(cli: Cli) -> Result<Config, ConfigError> {
    let command = match cli.command {
        cli::Command::Serve(args) => CommandConfig::Serve(resolve_serve(args)?),
        cli::Command::Probe(args) => CommandConfig::Probe(resolve_probe(args)?),
        cli::Command::Soak(args) => soak::resolve(*args)?,
        cli::Command::Completions { shell } => CommandConfig::Completions(shell),
        cli::Command::Man => CommandConfig::Man,
    };
    Ok(Config {
        log: LogConfig {
            format: cli.log_format,
            verbose: cli.verbose,
            rpc_lines: cli.verbose || !matches!(command, CommandConfig::Soak(_)),
        },
        workers: cli.workers.map(usize::from),
        command,
    })
}

fn resolve_serve(args: cli::ServeArgs) -> Result<ServeConfig, ConfigError> {
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

fn resolve_probe(args: cli::ProbeArgs) -> Result<ProbeConfig, ConfigError> {
    let patterns = match args.pattern {
        ProbePattern::ClientStream => vec![Pattern::ClientStream],
        ProbePattern::ServerStream => vec![Pattern::ServerStream],
        ProbePattern::BidiSync => vec![Pattern::BidiSync],
        ProbePattern::BidiAsync => vec![Pattern::BidiAsync],
        ProbePattern::All => Pattern::ALL.to_vec(),
        ProbePattern::Health | ProbePattern::Conformance => Vec::new(),
    };
    Ok(ProbeConfig {
        target: target(&args.server, &args.tls)?,
        patterns,
        health: (args.pattern == ProbePattern::Health).then(|| args.service.clone()),
        conformance: (args.pattern == ProbePattern::Conformance).then(|| ConformanceConfig {
            hold: args.hold,
            max_message_size: usize::try_from(args.max_message_size).unwrap_or(usize::MAX),
        }),
        once: args.once,
        messages: args.messages,
        message_gap: args.message_gap,
        interval: args.interval,
        timeout: args.timeout,
        connect_timeout: args.connect_timeout,
        server_stream_count: args.server_stream_count,
        output: args.output,
        call: call(&args.call)?,
    })
}

/// Reads a bearer token: the file's content without surrounding whitespace.
pub fn read_token(path: &Path) -> Result<String, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(ConfigError::File {
            path: path.to_owned(),
            message: "the token file is empty".into(),
        });
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ConfigError::File {
            path: path.to_owned(),
            message: "a token must be printable ASCII without spaces".into(),
        });
    }
    Ok(token.to_owned())
}

/// `--header` pairs (plus the bearer token) as gRPC metadata, and the compression.
fn call(args: &cli::CallArgs) -> Result<Call, ConfigError> {
    let mut pairs = args.headers.clone();
    if let Some(path) = &args.auth_token_file {
        pairs.push((
            "authorization".into(),
            format!("Bearer {}", read_token(path)?),
        ));
    }
    let mut headers = MetadataMap::new();
    for (key, value) in &pairs {
        // The flag's parser validated both; a failure here would be a bug there.
        let (Ok(key), Ok(value)) = (
            MetadataKey::from_bytes(key.as_bytes()),
            MetadataValue::try_from(value.as_str()),
        ) else {
            return Err(ConfigError::Invalid(format!(
                "--header {key}={value} is not valid gRPC metadata"
            )));
        };
        headers.append(key, value);
    }
    Ok(Call {
        headers,
        compression: args.compression,
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

/// `--server` with its TLS flags.
fn target(server: &str, tls: &cli::ClientTlsArgs) -> Result<Target, ConfigError> {
    let mut target = parse_target(server)?;
    target.tls = ClientTls {
        ca_cert: tls.ca_cert.clone(),
        client_cert: tls.client_cert.clone(),
        client_key: tls.client_key.clone(),
        server_name: tls.tls_server_name.clone(),
        insecure_skip_verify: tls.insecure_skip_verify,
    };
    let any_tls_flag = tls.ca_cert.is_some()
        || tls.client_cert.is_some()
        || tls.tls_server_name.is_some()
        || tls.insecure_skip_verify;
    if any_tls_flag && !target.is_tls() {
        return Err(ConfigError::Invalid(format!(
            "TLS flags need an https:// server, but --server is `{server}`; write https://{}",
            target.authority()
        )));
    }
    Ok(target)
}

/// `host:port` means plaintext; a scheme chooses explicitly.
pub fn parse_target(server: &str) -> Result<Target, ConfigError> {
    let invalid = |why: &str| {
        ConfigError::Invalid(format!(
            "--server `{server}` {why} (examples: localhost:8080, http://127.0.0.1:8080, https://example.com:443)"
        ))
    };
    let with_scheme = if server.contains("://") {
        server.to_owned()
    } else {
        format!("http://{server}")
    };
    let uri: http::Uri = with_scheme
        .parse()
        .map_err(|_| invalid("is not an address"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(invalid("must use http:// or https://"));
    }
    let authority = uri.authority().ok_or_else(|| invalid("has no host"))?;
    if authority.port_u16().is_none() {
        return Err(invalid("has no port"));
    }
    if !matches!(uri.path(), "" | "/") {
        return Err(invalid("must not have a path"));
    }
    Ok(Target {
        uri,
        tls: ClientTls::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_originals() {
        let cfg = ServeConfig::default();
        assert_eq!(cfg.addr.to_string(), "[::]:8080");
        assert_eq!(cfg.max_message_size, 50 * 1024 * 1024);
        assert_eq!(cfg.grace, Duration::from_secs(5));
        assert_eq!(cfg.echo.server_stream_count, 5);
        assert_eq!(cfg.echo.server_stream_interval, Duration::from_millis(100));
        assert_eq!(cfg.echo.async_queue, 10);
        assert_eq!(cfg.echo.async_delay, Duration::from_millis(200));
    }
}

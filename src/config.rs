//! Resolved, validated settings: flags > `GRPCSTREAM_*` environment > config file > defaults.
//!
//! The file is applied by turning its values into the defaults of the clap command, so a
//! file value goes through exactly the parser of its flag and precedence comes from clap.
//! Runners receive the types below, never clap's.

use std::{ffi::OsString, path::PathBuf, process::ExitCode};

mod client;
mod file;
mod serve;
mod soak;

pub use client::{parse_target, read_token, Call, ConformanceConfig, ProbeConfig, Target};
pub use serve::{EchoConfig, Limits, ServeConfig, ServeTls};
pub use soak::{Gates, MergeConfig, Output, SoakConfig, Stop, StreamLength};

use clap::FromArgMatches;

use crate::{
    cli::{self, Cli, LogFormat},
    exit_code,
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
        cli::Command::Serve(args) => CommandConfig::Serve(serve::resolve_serve(args)?),
        cli::Command::Probe(args) => CommandConfig::Probe(client::resolve_probe(args)?),
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

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

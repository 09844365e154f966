//! grpcstream: serve, probe and soak-test gRPC streaming (`api.stream.v1.EchoService`).
//!
//! The binary is a thin shell around [`run`], so integration tests drive every
//! subcommand in-process.

pub mod allocator;
pub mod cli;
pub mod client;
pub mod coalesce;
pub mod codec;
pub mod completions;
pub mod config;
pub mod contract;
pub mod exit_code;
pub mod interceptor;
pub mod man;
pub mod probe;
pub mod proto;
pub mod runtime;
pub mod serve;
pub mod soak;
pub mod stop;
pub mod tls;

use std::process::ExitCode;

use anyhow::Context;

use crate::config::{CommandConfig, Config};

/// Runs the resolved command; must be called inside the tokio runtime.
pub async fn run(config: Config) -> anyhow::Result<ExitCode> {
    match config.command {
        CommandConfig::Serve(serve) => {
            serve::run(serve, runtime::shutdown_token()).await?;
        }
        CommandConfig::Probe(probe) => return probe::run(probe, runtime::shutdown_token()).await,
        CommandConfig::Soak(soak) => return soak::run(soak, runtime::shutdown_token()).await,
        CommandConfig::SoakMerge(merge) => return soak::merge(&merge),
        CommandConfig::Man => man::print().context("cannot write the man page")?,
        CommandConfig::Completions(shell) => {
            completions::print(shell).context("cannot write the completion script")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

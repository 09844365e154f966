//! The `grpcstream` binary: resolve the settings, start logging and the runtime, run.

use std::process::ExitCode;

use anyhow::Context as _;

use grpcstream::{config, exit_code, runtime};

fn main() -> ExitCode {
    let config = match config::load(std::env::args_os()) {
        Ok(config) => config,
        Err(err) => return err.report(),
    };
    let log = runtime::init_tracing(config.log);
    let result = runtime::build(&config)
        .context("cannot start the async runtime")
        .and_then(|rt| {
            let result = rt.block_on(grpcstream::run(config));
            // Connections still open after the grace period must not delay the exit.
            rt.shutdown_background();
            result
        });
    drop(log); // flush the log before the error line, so the two do not interleave
    result.unwrap_or_else(|err| {
        eprintln!("error: {err:#}");
        ExitCode::from(exit_code::FAILURE)
    })
}

//! Process-wide machinery every subcommand shares: the tokio runtime (and the allocator
//! settings it runs with), the tracing subscriber, and the shutdown signal.

use std::io::{self, IsTerminal};

use tokio_util::sync::CancellationToken;
use tracing::warn;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::{fmt, EnvFilter};

use crate::{
    allocator,
    cli::LogFormat,
    config::{Config, LogConfig},
    exit_code,
};

/// Builds the runtime: a worker thread per core, or `--workers`. With one worker (one core,
/// or `--workers 1`) it is tokio's current-thread scheduler instead, which runs the same
/// tasks on the main thread: no hand-offs between it and a lone worker, no work-stealing
/// bookkeeping. On one core that serves 15% more messages per second and answers a
/// ping-pong with 6% less CPU (bench/compare.sh's shapes).
pub fn build(config: &Config) -> io::Result<tokio::runtime::Runtime> {
    allocator::tune();
    let workers = config.workers.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let mut builder = if workers == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(workers);
        builder
    };
    builder.enable_all().thread_name("grpcstream").build()
}

/// Lines waiting for the log writer thread, at most.
const LOG_QUEUE_LINES: usize = 16_384;

/// Installs the global subscriber writing to stderr. Writes go through a background
/// thread so a slow terminal or pipe never stalls an RPC; keep the guard alive until
/// exit so buffered lines are flushed. `RUST_LOG` overrides the level.
pub fn init_tracing(log: LogConfig) -> WorkerGuard {
    // Buffered: the writer thread drains every queued line and then flushes, so a burst of
    // RPC lines costs one write(2), not one each. The queue is allocated and touched in
    // full at start-up: 16,384 lines (512 KiB) instead of the default 128,000 (4 MiB of
    // resident memory); past it, lines are dropped rather than stalling RPCs.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(LOG_QUEUE_LINES)
        .finish(io::BufWriter::with_capacity(64 * 1024, io::stderr()));
    let mut default = String::from(if log.verbose {
        "info,grpcstream=debug"
    } else {
        "info"
    });
    if !log.rpc_lines {
        default.push_str(",grpcstream::rpc=warn");
    }
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(io::stderr().is_terminal());
    // A second initialisation (tests drive several runs in one process) is harmless.
    let _ = match log.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    guard
}

/// A token cancelled on the first SIGINT or SIGTERM. A second signal exits at once,
/// for when a graceful shutdown takes longer than the user is willing to wait.
pub fn shutdown_token() -> CancellationToken {
    let token = CancellationToken::new();
    let trigger = token.clone();
    tokio::spawn(async move {
        // Register once, before waiting, so no signal slips between the two waits.
        let mut signals = match Signals::new() {
            Ok(signals) => signals,
            Err(err) => {
                warn!("cannot listen for shutdown signals: {err}");
                return;
            }
        };
        signals.next().await;
        trigger.cancel();
        signals.next().await;
        warn!("second signal: exiting now");
        std::process::exit(exit_code::INTERRUPTED);
    });
    token
}

#[cfg(unix)]
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn new() -> io::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    async fn next(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn new() -> io::Result<Self> {
        Ok(Self)
    }

    async fn next(&mut self) {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use tokio::runtime::RuntimeFlavor;

    use super::build;
    use crate::config;

    fn runtime(workers: &str) -> tokio::runtime::Runtime {
        let config = config::load(["grpcstream", "--workers", workers, "serve"]);
        match config.map(|config| build(&config)) {
            Ok(Ok(runtime)) => runtime,
            other => panic!("no runtime for --workers {workers}: {other:?}"),
        }
    }

    #[test]
    fn one_worker_is_a_current_thread_runtime_and_more_are_that_many_threads() {
        let one = runtime("1");
        assert_eq!(one.handle().runtime_flavor(), RuntimeFlavor::CurrentThread);
        let three = runtime("3");
        assert_eq!(three.handle().runtime_flavor(), RuntimeFlavor::MultiThread);
        assert_eq!(three.metrics().num_workers(), 3);
    }
}

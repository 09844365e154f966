//! `grpcstream probe`: runs each selected pattern once or repeatedly (concurrently when
//! several), validating every reply; exit 0 only when every probe passed.

pub mod patterns;
pub mod report;

use std::{io, process::ExitCode, time::Duration};

use tokio::{sync::mpsc, task::JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::{client, config::ProbeConfig, exit_code};
use patterns::{Check, Failure, Plan};
use report::Reporter;

/// First wait after a failed connection; doubled after each further failure.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

pub async fn run(config: ProbeConfig, shutdown: CancellationToken) -> anyhow::Result<ExitCode> {
    let summary = run_with_output(config, shutdown, io::stdout()).await?;
    Ok(ExitCode::from(if summary.ok {
        exit_code::SUCCESS
    } else {
        exit_code::FAILURE
    }))
}

/// Probes, reporting to `out`; returns the summary.
pub async fn run_with_output<W: io::Write + Send + 'static>(
    config: ProbeConfig,
    shutdown: CancellationToken,
    out: W,
) -> anyhow::Result<report::Summary> {
    let client = client::connect_lazy(&config.target, config.connect_timeout)?;
    let server = config.target.authority().to_owned();
    let (tx, mut rx) = mpsc::channel::<Check>(16);

    let mut probes = JoinSet::new();
    for &pattern in &config.patterns {
        let plan = Plan::new(pattern, &config);
        probes.spawn(repeat(
            client.clone(),
            plan,
            server.clone(),
            config.once,
            shutdown.clone(),
            tx.clone(),
        ));
    }
    drop(tx);

    // One printer: lines never interleave, and the tallies need no lock.
    let mut reporter = Reporter::new(out, config.output, &server);
    let printer = tokio::task::spawn_blocking(move || {
        while let Some(check) = rx.blocking_recv() {
            reporter.record(&check);
        }
        reporter
    });
    while probes.join_next().await.is_some() {}
    let reporter = printer.await?;
    Ok(reporter.finish(!config.once))
}

/// Probes `plan.pattern` until shutdown (or once). A probe in flight when the shutdown
/// comes is finished, which its deadline bounds.
async fn repeat(
    client: client::EchoClient,
    plan: Plan,
    server: String,
    once: bool,
    shutdown: CancellationToken,
    results: mpsc::Sender<Check>,
) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let check = patterns::run(&client, &plan, &server).await;
        let pause = match &check.result {
            Err(Failure::Connect { .. }) => {
                let wait = backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                if !once {
                    info!(pattern = %plan.pattern, "server unreachable; retrying in {}", humantime::format_duration(wait));
                }
                wait
            }
            _ => {
                backoff = FIRST_BACKOFF;
                plan.pause
            }
        };
        if results.send(check).await.is_err() || once {
            return;
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

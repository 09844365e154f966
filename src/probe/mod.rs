//! `grpcstream probe`: runs each selected pattern once or repeatedly (concurrently when
//! several), validating every reply; exit 0 only when every probe passed. `probe
//! conformance` runs its interop cases instead (see [`conformance`]).

pub mod conformance;
mod health;
pub mod patterns;
pub mod report;

use std::{io, process::ExitCode, time::Duration};

use tokio::{sync::mpsc, task::JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::{client, config::ProbeConfig, exit_code};
use health::HealthPlan;
use patterns::{Check, Failure, Plan};
use report::Reporter;
use tonic_health::pb::health_client::HealthClient;

/// First wait after a failed connection; doubled after each further failure.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// Pause between two health checks when repeating, as Kubernetes probes default to.
const HEALTH_PAUSE: Duration = Duration::from_secs(10);

pub async fn run(config: ProbeConfig, shutdown: CancellationToken) -> anyhow::Result<ExitCode> {
    let ok = if config.conformance.is_some() {
        conformance::run_with_output(&config, shutdown, io::stdout())
            .await?
            .ok
    } else {
        run_with_output(config, shutdown, io::stdout()).await?.ok
    };
    Ok(ExitCode::from(if ok {
        exit_code::SUCCESS
    } else {
        exit_code::FAILURE
    }))
}

/// One kind of probe and what it needs.
enum Probe {
    Echo {
        client: client::EchoClient,
        plan: Plan,
    },
    Health {
        client: HealthClient<client::TimedChannel>,
        plan: HealthPlan,
    },
}

impl Probe {
    fn name(&self) -> &'static str {
        match self {
            Probe::Echo { plan, .. } => plan.pattern.name(),
            Probe::Health { .. } => "health",
        }
    }

    fn pause(&self) -> Duration {
        match self {
            Probe::Echo { plan, .. } => plan.pause,
            Probe::Health { plan, .. } => plan.pause,
        }
    }

    async fn run(&self, server: &str) -> Check {
        match self {
            Probe::Echo { client, plan } => patterns::run(client, plan, server).await,
            Probe::Health { client, plan } => health::run(client.clone(), plan, server).await,
        }
    }
}

/// Probes, reporting to `out`; returns the summary.
pub async fn run_with_output<W: io::Write + Send + 'static>(
    config: ProbeConfig,
    shutdown: CancellationToken,
    out: W,
) -> anyhow::Result<report::Summary> {
    let (channels, _) = client::channels(&config.target, config.connect_timeout, 1)?;
    let channel = channels
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("no channel was created"))?;
    let server = config.target.authority().to_owned();
    let mut probes: Vec<Probe> = config
        .patterns
        .iter()
        .map(|&pattern| Probe::Echo {
            client: client::echo_client(channel.clone(), config.call.compression),
            plan: Plan::new(pattern, &config),
        })
        .collect();
    if let Some(service) = &config.health {
        probes.push(Probe::Health {
            client: HealthClient::new(channel.clone()),
            plan: HealthPlan {
                service: service.clone(),
                timeout: config.timeout,
                pause: config.interval.unwrap_or(HEALTH_PAUSE),
                headers: config.call.headers.clone(),
            },
        });
    }
    let (tx, mut rx) = mpsc::channel::<Check>(16);
    let mut running = JoinSet::new();
    for probe in probes {
        running.spawn(repeat(
            probe,
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
    while running.join_next().await.is_some() {}
    let reporter = printer.await?;
    Ok(reporter.finish(!config.once))
}

/// Probes until shutdown (or once). A probe in flight when the shutdown comes is
/// finished, which its deadline bounds.
async fn repeat(
    probe: Probe,
    server: String,
    once: bool,
    shutdown: CancellationToken,
    results: mpsc::Sender<Check>,
) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let check = probe.run(&server).await;
        let pause = match &check.result {
            Err(Failure::Connect { .. }) => {
                let wait = backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                if !once {
                    info!(
                        probe = probe.name(),
                        "server unreachable; retrying in {}",
                        humantime::format_duration(wait)
                    );
                }
                wait
            }
            _ => {
                backoff = FIRST_BACKOFF;
                probe.pause()
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

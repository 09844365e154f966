//! `grpcstream soak`: starts the workers (one generic stream loop each) against the target
//! or an embedded server, collects their measurements, stops on duration, stream count or
//! signal, and reports with pass/fail gates. `soak merge` combines reports.

mod call;
mod failures;
pub mod integrity;
mod ledger;
mod outbound;
mod progress;
mod recorder;
mod replies;
pub mod report;
mod request_body;
mod same;
pub mod stats;
mod summary;
mod usage;
pub mod wire;
mod worker;

use std::{
    io::{self, Write},
    process::ExitCode,
    sync::{
        atomic::{AtomicU64, AtomicUsize},
        Arc,
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::{
    cli::OutputFormat,
    client,
    config::{self, EchoConfig, MergeConfig, Output, ServeConfig, SoakConfig, Stop, StreamLength},
    exit_code,
};
use report::{Gates, Report, StopReason};

/// After the run stops, how long streams in flight may take to deliver their last echoes.
const DRAIN: Duration = Duration::from_secs(5);

pub async fn run(config: SoakConfig, shutdown: CancellationToken) -> anyhow::Result<ExitCode> {
    let report = soak(&config, shutdown).await?;
    emit(&report, &config.output)?;
    let gates = Gates {
        max_p99: config.gates.max_p99,
        max_error_rate_pct: config.gates.max_error_rate_pct,
        min_throughput: config.gates.min_throughput,
    };
    Ok(verdict(&report, &gates))
}

/// Exit 1 when a gate is missed or any message came back wrong, naming each.
fn verdict(report: &Report, gates: &Gates) -> ExitCode {
    let mut failed = false;
    for miss in report.check(gates) {
        eprintln!("FAIL {miss}");
        failed = true;
    }
    let found = report.stats.integrity;
    if !found.is_clean() {
        eprintln!(
            "FAIL integrity: {} lost, {} duplicated, {} reordered, {} corrupted",
            found.lost, found.duplicated, found.reordered, found.corrupted
        );
        failed = true;
    }
    ExitCode::from(if failed {
        exit_code::FAILURE
    } else {
        exit_code::SUCCESS
    })
}

/// Runs the soak and returns its report.
pub async fn soak(config: &SoakConfig, shutdown: CancellationToken) -> anyhow::Result<Report> {
    let stop = crate::stop::Stop::default();
    let abort = CancellationToken::new();
    let embedded_stop = CancellationToken::new();
    let (target, server_stream_count, embedded) = match &config.target {
        Some(target) => (target.clone(), config.server_stream_count, None),
        None => {
            let (target, count, task) = start_embedded(config, embedded_stop.clone()).await?;
            (target, count, Some(task))
        }
    };
    let connections = client::connect_many(
        &target,
        config.connect_timeout,
        config.call.compression,
        config.connections as usize,
    )?;
    let start = Instant::now();
    let measure_from = start + config.warmup;
    // The workers' clock (see worker.rs), started at the same moment.
    let epoch = quanta::Instant::now();
    let shared = Arc::new(worker::Shared {
        clients: connections.clients.clone(),
        channels: connections.channels.clone(),
        head: call::Head::new(
            &config.call.headers,
            worker::deadline(config.stream_length, config.timeout),
            config.call.compression,
        ),
        mix: config.mix.clone(),
        length: config.stream_length,
        message_size: config.message_size,
        stream_rate: config.rate.map(|r| r / f64::from(config.concurrency)),
        in_flight: config.in_flight,
        timeout: config.timeout,
        server_stream_count,
        headers: config.call.headers.clone(),
        epoch,
        measure_from: epoch + config.warmup,
        stop: stop.clone(),
        abort: abort.clone(),
        streams_left: match config.stop {
            Stop::Streams(n) => Some(AtomicU64::new(n)),
            Stop::After(_) => None,
        },
        next_stream: AtomicU64::new(0),
        next_worker: AtomicUsize::new(0),
        failures: failures::FirstFailures::default(),
        workers: config.concurrency as usize,
        // A few shards per runtime thread keep the locks uncontended.
        shards: recorder::Shards::new(
            4 * tokio::runtime::Handle::current().metrics().num_workers(),
        ),
    });
    info!(target = %target.authority(), concurrency = config.concurrency, connections = config.connections, "soak starting");

    let planned = match config.stop {
        Stop::After(d) => Some(d),
        Stop::Streams(_) => None,
    };
    let finished = CancellationToken::new();
    let collector = tokio::spawn(progress::collect(
        shared.clone(),
        finished.clone(),
        measure_from,
        planned,
    ));
    let mut workers = JoinSet::new();
    for _ in 0..config.concurrency {
        workers.spawn(worker::run(shared.clone()));
    }
    drop(shared);

    let reason = tokio::select! {
        _ = shutdown.cancelled() => StopReason::Interrupted,
        _ = async { tokio::time::sleep_until((measure_from + planned.unwrap_or(Duration::MAX / 4)).into()).await } => StopReason::Duration,
        _ = async { while workers.join_next().await.is_some() {} } => StopReason::StreamCount,
    };
    stop.give();
    // Streams in flight half-close and get their last echoes; past the drain period, drop them.
    if tokio::time::timeout(DRAIN, async {
        while workers.join_next().await.is_some() {}
    })
    .await
    .is_err()
    {
        warn!(
            "streams still running {} after the end: cancelling them",
            humantime::format_duration(DRAIN)
        );
        abort.cancel();
        while workers.join_next().await.is_some() {}
    }
    let end = Instant::now();
    finished.cancel();
    let stats = collector.await.context("the collector failed")?;
    embedded_stop.cancel();
    if let Some(task) = embedded {
        // Its shutdown lines belong before the report, not inside it.
        let _ = tokio::time::timeout(DRAIN, task).await;
    }
    Ok(Report {
        config: echo_config(config, &target),
        stop_reason: reason,
        measured: end.saturating_duration_since(measure_from),
        stats,
        reconnects: connections
            .connects()
            .saturating_sub(u64::from(config.connections)),
        client: usage::client_usage(),
        sources: 1,
    })
}

/// An in-process server on 127.0.0.1 with the demo delays off.
async fn start_embedded(
    config: &SoakConfig,
    stop: CancellationToken,
) -> anyhow::Result<(
    config::Target,
    u32,
    tokio::task::JoinHandle<anyhow::Result<()>>,
)> {
    let count = match config.stream_length {
        StreamLength::Messages(k) => k,
        StreamLength::Lasting(_) => u32::MAX,
    };
    let serve = ServeConfig {
        echo: EchoConfig {
            server_stream_count: count,
            server_stream_interval: Duration::ZERO,
            async_queue: ServeConfig::default().echo.async_queue,
            async_delay: Duration::ZERO,
        },
        ..ServeConfig::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot start the embedded server")?;
    let addr = listener
        .local_addr()
        .context("cannot start the embedded server")?;
    let task = tokio::spawn(crate::serve::serve(listener, serve, stop));
    Ok((config::parse_target(&addr.to_string())?, count, task))
}

/// The resolved settings, echoed in the report so the run can be reproduced.
fn echo_config(config: &SoakConfig, target: &config::Target) -> serde_json::Value {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    serde_json::json!({
        "server": config.target.as_ref().map(|_| target.uri.to_string()),
        "embedded_server": config.target.is_none(),
        "mix": config.mix.iter().map(|(p, w)| serde_json::json!({"pattern": p.name(), "weight": w})).collect::<Vec<_>>(),
        "concurrency": config.concurrency,
        "connections": config.connections,
        "duration_ms": match config.stop { Stop::After(d) => Some(ms(d)), Stop::Streams(_) => None },
        "streams": match config.stop { Stop::Streams(n) => Some(n), Stop::After(_) => None },
        "warmup_ms": ms(config.warmup),
        "messages_per_stream": match config.stream_length { StreamLength::Messages(k) => Some(k), StreamLength::Lasting(_) => None },
        "stream_duration_ms": match config.stream_length { StreamLength::Lasting(d) => Some(ms(d)), StreamLength::Messages(_) => None },
        "message_size": config.message_size,
        "rate": config.rate,
        "in_flight": config.in_flight,
        "timeout_ms": ms(config.timeout),
        "server_stream_count": config.server_stream_count,
    })
}

/// The table or JSON on stdout, and the JSON file when asked for.
fn emit(report: &Report, output: &Output) -> anyhow::Result<()> {
    if let Some(path) = &output.file {
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot write the report to `{}`", path.display()))?;
        report
            .write_json(io::BufWriter::new(file))
            .with_context(|| format!("cannot write the report to `{}`", path.display()))?;
    }
    let stdout = io::stdout().lock();
    let written = match (output.format, &output.file) {
        (OutputFormat::Json, None) => report.write_json(stdout),
        _ => report.write_table(stdout),
    };
    match written.and_then(|()| io::stdout().flush()) {
        // A closed pipe (`| head`) is not a failure of the soak.
        Err(err) if err.kind() != io::ErrorKind::BrokenPipe => {
            Err(err).context("cannot write to stdout")
        }
        _ => Ok(()),
    }
}

/// `soak merge`: combines reports into one with exact percentiles.
pub fn merge(config: &MergeConfig) -> anyhow::Result<ExitCode> {
    let mut reports = Vec::new();
    for path in &config.reports {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read report `{}`", path.display()))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("`{}` is not JSON", path.display()))?;
        reports.push(
            Report::from_json(&value)
                .with_context(|| format!("`{}` is not a soak report", path.display()))?,
        );
    }
    let merged = Report::merge(reports)?;
    emit(&merged, &config.output)?;
    Ok(ExitCode::SUCCESS)
}

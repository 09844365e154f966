//! `probe conformance`: the streaming cases of the gRPC interop suite, adapted to
//! `api.stream.v1.EchoService`, run one after another against any server of the proto.
//! Each case is a named PASS, FAIL (with what was expected and what came back) or SKIP
//! (with why); the run passes when no case failed.
//!
//! Cases that need the `x-grpcstream-*` metadata controls are skipped, not failed, on
//! servers without them (the original Go and Python ones): a first call finds out.

mod calls;
mod cases;
mod status;

use std::{
    future::Future,
    io::Write,
    pin::Pin,
    time::{Duration, Instant},
};

use serde::Serialize;
use tokio_util::sync::CancellationToken;
use tonic::metadata::MetadataMap;
use tracing::warn;

use super::patterns::Failure;
use crate::{
    cli::OutputFormat,
    client::{self, EchoClient, TimedChannel},
    config::ProbeConfig,
};

/// The skip reason of the metadata cases on servers without the controls.
const NO_CONTROLS: &str = "the server does not implement the x-grpcstream-* controls";
/// How much longer than its hold the long-lived stream may take.
const LONG_LIVED_SLACK: Duration = Duration::from_secs(30);

/// What every case needs: the shared channel and the settings of the run.
pub struct Context {
    client: EchoClient,
    channel: TimedChannel,
    headers: MetadataMap,
    timeout: Duration,
    server_stream_count: u32,
    hold: Duration,
    max_message_size: usize,
    /// `Err(reason)` when the server lacks the metadata controls.
    controls: Result<(), String>,
}

impl Context {
    /// The deadline of `long_lived_stream`.
    fn long_deadline(&self) -> Duration {
        self.hold.saturating_add(LONG_LIVED_SLACK)
    }
}

/// How one case ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail(String),
    Skip(String),
}

/// Why a case did not pass; `?` on a tonic `Status` gives a failure.
#[derive(Debug)]
pub enum Problem {
    Fail(String),
    Skip(String),
}

type CaseFuture<'a> = Pin<Box<dyn Future<Output = Result<(), Problem>> + Send + 'a>>;

/// The tally of a run, as JSON (`"type": "summary"`).
#[derive(Debug, Serialize)]
pub struct Summary {
    r#type: &'static str,
    /// No case failed and every case ran (a signal can cut the run short).
    pub ok: bool,
    pub passed: u32,
    pub failed: u32,
    pub skipped: u32,
}

/// One finished case, as JSON (`"type": "case"`).
#[derive(Serialize)]
struct CaseLine<'a> {
    r#type: &'static str,
    case: &'a str,
    verdict: &'static str,
    reason: Option<&'a str>,
    duration_ms: f64,
}

/// Runs every case once against `config.target`, reporting to `out` as each ends.
pub async fn run_with_output<W: Write + Send>(
    config: &ProbeConfig,
    shutdown: CancellationToken,
    out: W,
) -> anyhow::Result<Summary> {
    let settings = config
        .conformance
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("not a conformance probe"))?;
    let (channels, _) = client::channels(&config.target, config.connect_timeout, 1)?;
    let channel = channels
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("no channel was created"))?;
    let server = config.target.authority();
    let mut ctx = Context {
        client: client::echo_client(channel.clone(), config.call.compression),
        channel,
        headers: config.call.headers.clone(),
        timeout: config.timeout,
        server_stream_count: config.server_stream_count,
        hold: settings.hold,
        max_message_size: settings.max_message_size,
        controls: Ok(()),
    };
    // The first call also tells an unreachable server from a failing one: the former
    // is one error, not thirteen failed cases.
    let detected = tokio::select! {
        _ = shutdown.cancelled() => anyhow::bail!("interrupted before the first case"),
        detected = status::detect_controls(&ctx) => detected,
    };
    ctx.controls = match detected {
        Ok(true) => Ok(()),
        Ok(false) => Err(NO_CONTROLS.to_owned()),
        Err(status) => match Failure::from_status(status, server) {
            failure @ Failure::Connect { .. } => return Err(failure.into()),
            failure => Err(format!(
                "cannot tell whether the server implements the x-grpcstream-* controls: \
                 the detection call failed: {failure}"
            )),
        },
    };

    let mut report = Report::new(out, config.output);
    let cases = cases::all(&ctx);
    let total = cases.len();
    for (name, deadline, case) in cases {
        let start = Instant::now();
        let outcome = tokio::select! {
            _ = shutdown.cancelled() => break,
            outcome = tokio::time::timeout(deadline, case) => outcome,
        };
        let verdict = match outcome {
            Ok(Ok(())) => Verdict::Pass,
            Ok(Err(Problem::Fail(reason))) => Verdict::Fail(reason),
            Ok(Err(Problem::Skip(reason))) => Verdict::Skip(reason),
            Err(_) => Verdict::Fail(format!(
                "expected an answer within the {} deadline, got none",
                humantime::format_duration(deadline)
            )),
        };
        report.case(name, &verdict, start.elapsed());
    }
    let not_run = total - report.count() as usize;
    if not_run > 0 {
        warn!("conformance run interrupted: {not_run} cases did not run");
    }
    Ok(report.finish(not_run))
}

/// Writes the lines of a run and counts the verdicts.
struct Report<W> {
    out: W,
    format: OutputFormat,
    passed: u32,
    failed: u32,
    skipped: u32,
    /// Set once the output is gone (`| head`): keep running for the exit code.
    closed: bool,
}

impl<W: Write> Report<W> {
    fn new(out: W, format: OutputFormat) -> Self {
        Self {
            out,
            format,
            passed: 0,
            failed: 0,
            skipped: 0,
            closed: false,
        }
    }

    fn case(&mut self, name: &str, verdict: &Verdict, elapsed: Duration) {
        let (label, reason) = match verdict {
            Verdict::Pass => {
                self.passed += 1;
                ("pass", None)
            }
            Verdict::Fail(reason) => {
                self.failed += 1;
                ("fail", Some(reason.as_str()))
            }
            Verdict::Skip(reason) => {
                self.skipped += 1;
                ("skip", Some(reason.as_str()))
            }
        };
        let line = match self.format {
            OutputFormat::Json => serde_json::to_string(&CaseLine {
                r#type: "case",
                case: name,
                verdict: label,
                reason,
                duration_ms: (elapsed.as_secs_f64() * 1e6).round() / 1e3,
            })
            .unwrap_or_default(),
            OutputFormat::Text => match verdict {
                Verdict::Pass => format!("PASS {name} {:.3}s", elapsed.as_secs_f64()),
                Verdict::Fail(reason) => format!("FAIL {name}: {reason}"),
                Verdict::Skip(reason) => format!("SKIP {name} ({reason})"),
            },
        };
        self.write_line(&line);
    }

    fn count(&self) -> u32 {
        self.passed + self.failed + self.skipped
    }

    /// The summary line; a run cut short by a signal (`not_run` > 0) does not pass.
    fn finish(mut self, not_run: usize) -> Summary {
        let summary = Summary {
            r#type: "summary",
            ok: self.failed == 0 && not_run == 0,
            passed: self.passed,
            failed: self.failed,
            skipped: self.skipped,
        };
        let line = match self.format {
            OutputFormat::Json => serde_json::to_string(&summary).unwrap_or_default(),
            OutputFormat::Text => format!(
                "conformance: {} passed, {} failed, {} skipped{}",
                summary.passed,
                summary.failed,
                summary.skipped,
                match not_run {
                    0 => String::new(),
                    n => format!("; interrupted, {n} not run"),
                }
            ),
        };
        self.write_line(&line);
        summary
    }

    fn write_line(&mut self, line: &str) {
        if !self.closed
            && writeln!(self.out, "{line}")
                .and_then(|()| self.out.flush())
                .is_err()
        {
            self.closed = true;
        }
    }
}

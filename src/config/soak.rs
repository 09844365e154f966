//! Settings of `grpcstream soak` and `soak merge`, resolved and cross-checked.

use std::{path::PathBuf, time::Duration};

use super::{
    client::{call, target},
    Call, ConfigError, Target,
};
use crate::{
    cli::{self, OutputFormat, SoakPattern},
    contract::Pattern,
};

#[derive(Debug, Clone)]
pub struct SoakConfig {
    /// `None`: soak an embedded server with no demo delays.
    pub target: Option<Target>,
    /// Patterns with their weights; one entry unless `--pattern mix`.
    pub mix: Vec<(Pattern, u32)>,
    pub concurrency: u32,
    pub connections: u32,
    pub stop: Stop,
    pub warmup: Duration,
    pub stream_length: StreamLength,
    pub message_size: usize,
    /// Messages per second in total (open loop).
    pub rate: Option<f64>,
    /// Bidi streams: messages awaiting their echo, at most.
    pub in_flight: Option<u32>,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Replies per EchoServerStream call to expect.
    pub server_stream_count: u32,
    pub output: Output,
    pub gates: Gates,
    pub call: Call,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stop {
    /// Measure for this long after the warm-up.
    After(Duration),
    /// Stop after this many streams.
    Streams(u64),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StreamLength {
    Messages(u32),
    Lasting(Duration),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gates {
    pub max_p99: Option<Duration>,
    pub max_error_rate_pct: Option<f64>,
    pub min_throughput: Option<f64>,
}

/// Where the report goes: a table or JSON on stdout, and optionally JSON into a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub format: OutputFormat,
    pub file: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct MergeConfig {
    pub reports: Vec<PathBuf>,
    pub output: Output,
}

pub(super) fn resolve(args: cli::SoakArgs) -> Result<super::CommandConfig, ConfigError> {
    if let Some(cli::SoakAction::Merge { reports, output }) = args.action {
        return Ok(super::CommandConfig::SoakMerge(MergeConfig {
            reports,
            output: parse_output(&output)?,
        }));
    }
    let invalid = |msg: String| Err(ConfigError::Invalid(msg));
    let mix = match (args.pattern, &args.mix) {
        (SoakPattern::Mix, Some(spec)) => parse_mix(spec)?,
        (SoakPattern::Mix, None) => Pattern::ALL.iter().map(|&p| (p, 1)).collect(),
        (_, Some(_)) => return invalid("--mix needs --pattern mix".into()),
        (SoakPattern::ClientStream, None) => vec![(Pattern::ClientStream, 1)],
        (SoakPattern::ServerStream, None) => vec![(Pattern::ServerStream, 1)],
        (SoakPattern::BidiSync, None) => vec![(Pattern::BidiSync, 1)],
        (SoakPattern::BidiAsync, None) => vec![(Pattern::BidiAsync, 1)],
    };
    if let Some(rate) = args.rate {
        if !(rate.is_finite() && rate > 0.0) {
            return invalid(format!(
                "--rate {rate} must be a positive number of messages per second"
            ));
        }
    }
    let bidi = |p: &(Pattern, u32)| matches!(p.0, Pattern::BidiSync | Pattern::BidiAsync);
    if args.in_flight.is_some() && !mix.iter().any(bidi) {
        return invalid(
            "--in-flight applies to bidi-sync and bidi-async streams: use one of those patterns (or a mix with one)"
                .into(),
        );
    }
    if let Some(pct) = args.max_error_rate {
        if !(0.0..=100.0).contains(&pct) {
            return invalid(format!(
                "--max-error-rate {pct} must be a percentage from 0 to 100"
            ));
        }
    }
    if args.connections > args.concurrency {
        return invalid(format!(
            "--connections {} is more than --concurrency {}: some connections would carry no stream",
            args.connections, args.concurrency
        ));
    }
    let message_size = usize::try_from(args.message_size)
        .ok()
        .filter(|&n| n <= 64 << 20)
        .ok_or_else(|| {
            ConfigError::Invalid(format!(
                "--message-size {} is above 64MiB",
                args.message_size
            ))
        })?;
    Ok(super::CommandConfig::Soak(SoakConfig {
        target: match &args.server {
            Some(server) => Some(target(server, &args.tls)?),
            None => None,
        },
        mix,
        concurrency: args.concurrency,
        connections: args.connections,
        stop: args
            .streams
            .map_or(Stop::After(args.duration), Stop::Streams),
        warmup: args.warmup,
        stream_length: args.stream_duration.map_or(
            StreamLength::Messages(args.messages_per_stream),
            StreamLength::Lasting,
        ),
        message_size,
        rate: args.rate,
        in_flight: args.in_flight,
        timeout: args.timeout,
        connect_timeout: args.connect_timeout,
        server_stream_count: args.server_stream_count,
        output: parse_output(&args.output)?,
        gates: Gates {
            max_p99: args.max_p99,
            max_error_rate_pct: args.max_error_rate,
            min_throughput: args.min_throughput,
        },
        call: call(&args.call)?,
    }))
}

fn parse_output(values: &[String]) -> Result<Output, ConfigError> {
    let format = match values.first().map(String::as_str) {
        None | Some("text") => OutputFormat::Text,
        Some("json") => OutputFormat::Json,
        Some(other) => {
            return Err(ConfigError::Invalid(format!(
                "--output `{other}`: use `text`, `json` or `json FILE`"
            )))
        }
    };
    let file = values.get(1).map(PathBuf::from);
    if file.is_some() && format == OutputFormat::Text {
        return Err(ConfigError::Invalid(
            "--output text takes no file; use `--output json FILE`".into(),
        ));
    }
    Ok(Output { format, file })
}

/// `bidi-sync=70,client-stream=30`.
fn parse_mix(spec: &str) -> Result<Vec<(Pattern, u32)>, ConfigError> {
    let bad = |why: String| {
        ConfigError::Invalid(format!(
            "--mix `{spec}`: {why} (example: bidi-sync=70,client-stream=30)"
        ))
    };
    let mut mix: Vec<(Pattern, u32)> = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, weight) = part
            .split_once('=')
            .ok_or_else(|| bad(format!("`{part}` is not PATTERN=WEIGHT")))?;
        let pattern = Pattern::ALL
            .into_iter()
            .find(|p| p.name() == name.trim())
            .ok_or_else(|| bad(format!("unknown pattern `{}`", name.trim())))?;
        let weight: u32 = weight
            .trim()
            .parse()
            .map_err(|_| bad(format!("weight `{weight}` is not a whole number")))?;
        if mix.iter().any(|(p, _)| *p == pattern) {
            return Err(bad(format!("`{name}` appears twice")));
        }
        if weight > 0 {
            mix.push((pattern, weight));
        }
    }
    if mix.is_empty() {
        return Err(bad("no pattern has a weight above 0".into()));
    }
    Ok(mix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_weights_parse_and_reject_nonsense() {
        let mix = parse_mix("bidi-sync=70, client-stream=30").ok();
        assert_eq!(
            mix,
            Some(vec![(Pattern::BidiSync, 70), (Pattern::ClientStream, 30)])
        );
        for bad in [
            "bidi-sync",
            "nope=1",
            "bidi-sync=x",
            "bidi-sync=0",
            "bidi-sync=1,bidi-sync=2",
        ] {
            assert!(parse_mix(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn output_takes_a_format_and_an_optional_file() {
        let json_file = parse_output(&["json".into(), "r.json".into()]).ok();
        assert_eq!(
            json_file.map(|o| o.file),
            Some(Some(PathBuf::from("r.json")))
        );
        assert!(parse_output(&["text".into(), "r.json".into()]).is_err());
        assert!(parse_output(&["yaml".into()]).is_err());
    }
}

//! Reading a report back from its JSON: the measurements are rebuilt from the histograms
//! and counters, and every failure is a [`ReportError`] naming the field at fault.

use std::{collections::BTreeMap, time::Duration};

use base64::{engine::general_purpose::STANDARD as BASE64, Engine as _};
use hdrhistogram::{
    serialization::{DeserializeError, Deserializer},
    Histogram,
};
use serde::Deserialize;
use serde_json::Value;

use super::{ClientUsage, Report, StopReason, SCHEMA_VERSION};
use crate::soak::stats::{empty_histogram, Integrity, Stats};

/// A report that cannot be read or merged. Every reading error names the JSON field, as a
/// dotted path (`histograms.latency`).
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("`{field}` is missing")]
    Missing { field: String },
    #[error("`{field}` should be {expected}")]
    WrongType {
        field: String,
        expected: &'static str,
    },
    #[error(
        "`grpcstream_soak_report` is {found}, but this grpcstream reads version {SCHEMA_VERSION}"
    )]
    UnsupportedVersion { found: String },
    #[error("`{field}` is not valid base64")]
    Base64 {
        field: String,
        #[source]
        source: base64::DecodeError,
    },
    #[error("`{field}` is not an HdrHistogram in the V2 encoding")]
    Histogram {
        field: String,
        #[source]
        source: DeserializeError,
    },
    #[error("`{field}` holds values beyond the one hour a soak histogram tracks")]
    HistogramRange { field: String },
    #[error("no reports to merge")]
    NoReports,
}

impl ReportError {
    /// The JSON field at fault, if the error is about one.
    pub fn field(&self) -> Option<&str> {
        match self {
            ReportError::Missing { field }
            | ReportError::WrongType { field, .. }
            | ReportError::Base64 { field, .. }
            | ReportError::Histogram { field, .. }
            | ReportError::HistogramRange { field } => Some(field),
            ReportError::UnsupportedVersion { .. } => Some("grpcstream_soak_report"),
            ReportError::NoReports => None,
        }
    }
}

impl Report {
    /// Rebuilds a report from its JSON: the measurements from the histograms and counters;
    /// the summaries and rates, derived from those, are not read.
    pub fn from_json(value: &Value) -> Result<Report, ReportError> {
        let version = at(value, "grpcstream_soak_report")?;
        if version.as_u64() != Some(SCHEMA_VERSION) {
            return Err(ReportError::UnsupportedVersion {
                found: version.to_string(),
            });
        }
        let mut errors = BTreeMap::new();
        let errors_value = at(value, "calls.errors")?;
        let error_counts = errors_value
            .as_object()
            .ok_or_else(|| wrong_type("calls.errors", "an object"))?;
        for (name, count) in error_counts {
            let count = count
                .as_u64()
                .ok_or_else(|| wrong_type(&format!("calls.errors.{name}"), NON_NEGATIVE))?;
            errors.insert(name.clone(), count);
        }
        let stats = Stats {
            latency: histogram_at(value, "histograms.latency")?,
            first_reply: histogram_at(value, "histograms.first_reply")?,
            inter_arrival: histogram_at(value, "histograms.inter_arrival")?,
            calls: u64_at(value, "calls.total")?,
            calls_failed: u64_at(value, "calls.failed")?,
            messages_sent: u64_at(value, "messages.sent")?,
            messages_received: u64_at(value, "messages.received")?,
            bytes_sent: u64_at(value, "bytes.sent")?,
            bytes_received: u64_at(value, "bytes.received")?,
            errors,
            integrity: Integrity {
                lost: u64_at(value, "integrity.lost")?,
                duplicated: u64_at(value, "integrity.duplicated")?,
                reordered: u64_at(value, "integrity.reordered")?,
                corrupted: u64_at(value, "integrity.corrupted")?,
            },
        };
        let measured = Duration::try_from_secs_f64(f64_at(value, "measured_s")?)
            .map_err(|_| wrong_type("measured_s", "a non-negative number of seconds"))?;
        let stop_reason = StopReason::deserialize(at(value, "stop_reason")?).map_err(|_| {
            wrong_type(
                "stop_reason",
                "one of \"duration\", \"stream-count\", \"interrupted\", \"merged\"",
            )
        })?;
        Ok(Report {
            config: at(value, "config")?.clone(),
            stop_reason,
            measured,
            stats,
            reconnects: u64_at(value, "reconnects")?,
            client: ClientUsage {
                cpu_user_s: f64_at(value, "client.cpu_user_s")?,
                cpu_system_s: f64_at(value, "client.cpu_system_s")?,
                peak_rss_bytes: u64_at(value, "client.peak_rss_bytes")?,
            },
            sources: u64_at(value, "sources")?,
        })
    }
}

const NON_NEGATIVE: &str = "a non-negative integer";

/// Decodes into a histogram of the soak's own bounds, so later merges are bucket-exact
/// whatever bounds the writer declared.
fn histogram_at(root: &Value, path: &str) -> Result<Histogram<u64>, ReportError> {
    let text = at(root, path)?
        .as_str()
        .ok_or_else(|| wrong_type(path, "a base64 string"))?;
    let bytes = BASE64.decode(text).map_err(|source| ReportError::Base64 {
        field: path.to_owned(),
        source,
    })?;
    let decoded: Histogram<u64> = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|source| ReportError::Histogram {
            field: path.to_owned(),
            source,
        })?;
    let mut histogram = empty_histogram();
    histogram
        .add(&decoded)
        .map_err(|_| ReportError::HistogramRange {
            field: path.to_owned(),
        })?;
    Ok(histogram)
}

/// The value at a dotted path; a missing key or a non-object on the way is named.
fn at<'a>(root: &'a Value, path: &str) -> Result<&'a Value, ReportError> {
    let mut value = root;
    // Length of the prefix of `path` that led to `value`.
    let mut walked = 0;
    for key in path.split('.') {
        let Some(object) = value.as_object() else {
            let parent = path.get(..walked).filter(|p| !p.is_empty());
            return Err(wrong_type(parent.unwrap_or("(report)"), "an object"));
        };
        walked += if walked == 0 {
            key.len()
        } else {
            key.len() + 1
        };
        value = object.get(key).ok_or_else(|| ReportError::Missing {
            field: path.get(..walked).unwrap_or(path).to_owned(),
        })?;
    }
    Ok(value)
}

fn u64_at(root: &Value, path: &str) -> Result<u64, ReportError> {
    at(root, path)?
        .as_u64()
        .ok_or_else(|| wrong_type(path, NON_NEGATIVE))
}

fn f64_at(root: &Value, path: &str) -> Result<f64, ReportError> {
    at(root, path)?
        .as_f64()
        .ok_or_else(|| wrong_type(path, "a number"))
}

fn wrong_type(field: &str, expected: &'static str) -> ReportError {
    ReportError::WrongType {
        field: field.to_owned(),
        expected,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::{
        fixtures::{assert_same_distribution, busy_report},
        json::encode,
    };
    use super::*;

    fn read_err(mutate: impl FnOnce(&mut Value)) -> ReportError {
        let mut value = busy_report(1).to_json();
        mutate(&mut value);
        match Report::from_json(&value) {
            Ok(_) => panic!("should not read"),
            Err(e) => e,
        }
    }

    #[test]
    fn json_round_trip_keeps_measurements() -> Result<(), Box<dyn std::error::Error>> {
        let report = busy_report(3);
        let back = Report::from_json(&report.to_json())?;
        assert_same_distribution(&back.stats.latency, &report.stats.latency);
        assert_same_distribution(&back.stats.first_reply, &report.stats.first_reply);
        assert_same_distribution(&back.stats.inter_arrival, &report.stats.inter_arrival);
        assert_eq!(back.stats.calls, 300);
        assert_eq!(back.stats.calls_failed, 1);
        assert_eq!(back.stats.errors, report.stats.errors);
        assert_eq!(back.stats.messages_received, 2_999);
        assert_eq!(back.stats.bytes_received, 59_980);
        assert_eq!(back.stats.integrity, report.stats.integrity);
        assert_eq!(back.measured, report.measured);
        assert_eq!(back.stop_reason, StopReason::Duration);
        assert_eq!(back.client, report.client);
        assert_eq!((back.reconnects, back.sources), (3, 1));
        assert_eq!(back.config, report.config);
        Ok(())
    }

    #[test]
    fn merge_through_json_equals_one_recording_of_both() -> Result<(), Box<dyn std::error::Error>> {
        let (a, b) = (busy_report(1), busy_report(2));
        let mut both = a.stats.clone();
        both.merge(&b.stats);
        let read = |r: &Report| Report::from_json(&r.to_json());
        let merged = Report::merge(vec![read(&a)?, read(&b)?])?;
        assert_same_distribution(&merged.stats.latency, &both.latency);
        assert_same_distribution(&merged.stats.first_reply, &both.first_reply);
        assert_same_distribution(&merged.stats.inter_arrival, &both.inter_arrival);
        // And again through JSON: the merged report's own file merges the same.
        let again = read(&merged)?;
        assert_same_distribution(&again.stats.latency, &both.latency);
        assert_eq!(again.stop_reason, StopReason::Merged);
        Ok(())
    }

    #[test]
    fn from_json_names_a_missing_histogram() {
        let err = read_err(|v| {
            if let Some(histograms) = v["histograms"].as_object_mut() {
                histograms.remove("latency");
            }
        });
        assert!(matches!(err, ReportError::Missing { .. }), "{err:?}");
        assert_eq!(err.field(), Some("histograms.latency"));
        assert_eq!(err.to_string(), "`histograms.latency` is missing");
    }

    #[test]
    fn from_json_names_a_field_of_the_wrong_type() {
        let err = read_err(|v| v["calls"]["total"] = json!("12"));
        assert_eq!(err.field(), Some("calls.total"));
        assert_eq!(
            err.to_string(),
            "`calls.total` should be a non-negative integer"
        );
        let err = read_err(|v| v["calls"] = json!(5));
        assert_eq!(err.to_string(), "`calls` should be an object");
        let err = read_err(|v| v["stop_reason"] = json!("bored"));
        assert_eq!(err.field(), Some("stop_reason"));
        let err = read_err(|v| v["measured_s"] = json!(-1.0));
        assert_eq!(err.field(), Some("measured_s"));
        let err = read_err(|v| v["calls"]["errors"]["UNAVAILABLE"] = json!(-1));
        assert_eq!(err.field(), Some("calls.errors.UNAVAILABLE"));
        let err = Report::from_json(&json!([1])).unwrap_err();
        assert_eq!(err.to_string(), "`(report)` should be an object");
    }

    #[test]
    fn from_json_names_bad_histogram_data() -> Result<(), Box<dyn std::error::Error>> {
        let err = read_err(|v| v["histograms"]["first_reply"] = json!("not base64!"));
        assert!(matches!(err, ReportError::Base64 { .. }), "{err:?}");
        assert_eq!(err.field(), Some("histograms.first_reply"));
        let err = read_err(|v| v["histograms"]["inter_arrival"] = json!("AAAAAAAA"));
        assert!(matches!(err, ReportError::Histogram { .. }), "{err:?}");
        assert_eq!(err.field(), Some("histograms.inter_arrival"));

        // Valid V2, but wider than the one hour a soak histogram tracks.
        let mut wide = Histogram::<u64>::new_with_bounds(1, 10 * 3_600_000_000_000, 3)?;
        wide.record(5 * 3_600_000_000_000)?;
        let wide = encode(&wide).ok_or("the wide histogram does not serialize")?;
        let err = read_err(|v| v["histograms"]["latency"] = json!(wide));
        assert!(matches!(err, ReportError::HistogramRange { .. }), "{err:?}");
        assert_eq!(err.field(), Some("histograms.latency"));
        Ok(())
    }

    #[test]
    fn from_json_rejects_other_versions() {
        let err = read_err(|v| v["grpcstream_soak_report"] = json!(2));
        assert!(
            matches!(&err, ReportError::UnsupportedVersion { found } if found == "2"),
            "{err:?}"
        );
        assert!(err.to_string().contains("`grpcstream_soak_report` is 2"));
        let err = read_err(|v| {
            if let Some(report) = v.as_object_mut() {
                report.remove("grpcstream_soak_report");
            }
        });
        assert_eq!(err.to_string(), "`grpcstream_soak_report` is missing");
    }
}

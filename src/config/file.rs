//! The config file layer: each value becomes the default of its flag in the clap command,
//! after the flag's own parser accepted it, so file values and flags cannot disagree.

use std::path::Path;

use clap::{Arg, ArgAction};

use super::ConfigError;

/// Makes every value in the file the default of its flag. Top-level keys are the global
/// flags; a table named after a subcommand holds that subcommand's flags.
pub(super) fn with_file_defaults(
    mut cmd: clap::Command,
    path: &Path,
) -> Result<clap::Command, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::Syntax {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
    let file_err = |message: String| ConfigError::File {
        path: path.to_owned(),
        message,
    };
    for (key, value) in &table {
        if let (Some(section), toml::Value::Table(entries)) =
            (cmd.find_subcommand(key).cloned(), value)
        {
            let mut sub = section;
            for (sub_key, sub_value) in entries {
                sub = apply(sub, &format!("{key}."), sub_key, sub_value).map_err(file_err)?;
            }
            cmd = cmd.mut_subcommand(key, |_| sub);
        } else {
            cmd = apply(cmd, "", key, value).map_err(file_err)?;
        }
    }
    Ok(cmd)
}

fn apply(
    cmd: clap::Command,
    prefix: &str,
    key: &str,
    value: &toml::Value,
) -> Result<clap::Command, String> {
    let settable = |a: &&Arg| {
        a.get_long()
            .is_some_and(|l| !matches!(l, "config" | "help" | "version"))
    };
    let Some(arg) = cmd
        .get_arguments()
        .filter(settable)
        .find(|a| a.get_long() == Some(key))
    else {
        let mut valid: Vec<String> = cmd
            .get_arguments()
            .filter(settable)
            .filter_map(|a| a.get_long().map(str::to_owned))
            .collect();
        valid.extend(
            cmd.get_subcommands()
                .filter(|s| s.get_arguments().any(|a| settable(&a)))
                .map(|s| format!("[{}]", s.get_name())),
        );
        return Err(format!(
            "unknown key `{prefix}{key}` (valid here: {})",
            valid.join(", ")
        ));
    };
    let values = file_values(arg, value).map_err(|e| format!("key `{prefix}{key}`: {e}"))?;
    for v in &values {
        validate(arg, v).map_err(|e| format!("key `{prefix}{key}`: {e}"))?;
    }
    let id = arg.get_id().clone();
    Ok(cmd.mut_arg(id, |a| a.default_values(values)))
}

/// The file value as the strings its flag would take on the command line.
fn file_values(arg: &Arg, value: &toml::Value) -> Result<Vec<String>, String> {
    let scalar = |v: &toml::Value| match v {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Float(f) => Ok(f.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        toml::Value::Datetime(d) => Ok(d.to_string()),
        other => Err(format!(
            "expected a single value, found {}",
            other.type_str()
        )),
    };
    match (arg.get_action(), value) {
        (ArgAction::SetTrue, toml::Value::Boolean(b)) => Ok(vec![b.to_string()]),
        (ArgAction::SetTrue, other) => Err(format!(
            "expected true or false, found {}",
            other.type_str()
        )),
        (ArgAction::Append, toml::Value::Array(items)) => items.iter().map(scalar).collect(),
        (_, v) => scalar(v).map(|s| vec![s]),
    }
}

/// Runs the flag's own parser on a file value, so bad values fail here, naming the file.
fn validate(arg: &Arg, value: &str) -> Result<(), String> {
    if matches!(arg.get_action(), ArgAction::SetTrue) {
        return Ok(());
    }
    let Some(long) = arg.get_long() else {
        return Ok(());
    };
    let probe = clap::Command::new("grpcstream")
        .no_binary_name(true)
        .arg(arg.clone().global(false).required(false));
    probe
        .try_get_matches_from([format!("--{long}={value}")])
        .map(drop)
        .map_err(|e| {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            first.trim_start_matches("error: ").to_owned()
        })
}

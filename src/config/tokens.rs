//! Turning a file value into the command-line arguments clap would accept for its option.

use std::ffi::OsString;

use clap::{Arg, ArgAction, Command};

/// The `--name=value` arguments for `value`, already run through the option's own value
/// parser; empty when the value passes nothing (`false` for a flag, a count of 0).
pub(super) fn file_tokens(arg: &Arg, value: &toml::Value) -> Result<Vec<OsString>, String> {
    let tokens = to_tokens(arg, value)?;
    probe(arg, &tokens)?;
    Ok(tokens)
}

/// Turns a file value into command-line tokens, checking its TOML type against the
/// option's action.
fn to_tokens(arg: &Arg, value: &toml::Value) -> Result<Vec<OsString>, String> {
    let Some(long) = arg.get_long() else {
        return Ok(Vec::new());
    };
    let flag = format!("--{long}");
    let with_value = |v: &toml::Value| scalar(v).map(|s| OsString::from(format!("{flag}={s}")));
    match arg.get_action() {
        ArgAction::SetTrue | ArgAction::SetFalse => match value {
            toml::Value::Boolean(true) => Ok(vec![flag.into()]),
            toml::Value::Boolean(false) => Ok(Vec::new()),
            other => Err(format!("expected true or false, found {}", other.type_str())),
        },
        ArgAction::Count => {
            let count = match value {
                toml::Value::Boolean(b) => usize::from(*b),
                toml::Value::Integer(n) if (0..=i64::from(u8::MAX)).contains(n) => *n as usize,
                other => {
                    return Err(format!(
                        "expected a count from 0 to 255 or true/false, found {}",
                        if other.is_integer() {
                            "an out-of-range integer"
                        } else {
                            other.type_str()
                        }
                    ));
                }
            };
            Ok(vec![OsString::from(flag); count])
        }
        ArgAction::Append => match value {
            toml::Value::Array(items) => items.iter().map(with_value).collect(),
            other => Ok(vec![with_value(other)?]),
        },
        ArgAction::Set => match value {
            toml::Value::Array(items) if arg.get_num_args().is_some_and(|r| r.max_values() > 1) => {
                let mut tokens = vec![OsString::from(flag.as_str())];
                for item in items {
                    tokens.push(scalar(item)?.into());
                }
                Ok(tokens)
            }
            toml::Value::Array(_) => Err("expected a single value, found an array".to_string()),
            other => Ok(vec![with_value(other)?]),
        },
        _ => Ok(Vec::new()),
    }
}

fn scalar(value: &toml::Value) -> Result<String, String> {
    match value {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(n) => Ok(n.to_string()),
        toml::Value::Float(x) => Ok(x.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        other => Err(format!(
            "expected a string, number or boolean, found {}",
            other.type_str()
        )),
    }
}

/// Runs the option's own value parser on the file value, so a bad value is reported
/// against the file rather than as a command-line error the user never typed.
fn probe(arg: &Arg, tokens: &[OsString]) -> Result<(), String> {
    if tokens.is_empty() || !matches!(arg.get_action(), ArgAction::Set | ArgAction::Append) {
        return Ok(());
    }
    let mut copy = Arg::new(arg.get_id().clone())
        .long(arg.get_long().unwrap_or_default().to_string())
        .action(arg.get_action().clone())
        .value_parser(arg.get_value_parser().clone())
        .allow_hyphen_values(arg.is_allow_hyphen_values_set());
    if let Some(range) = arg.get_num_args() {
        copy = copy.num_args(range);
    }
    if let Some(delimiter) = arg.get_value_delimiter() {
        copy = copy.value_delimiter(delimiter);
    }
    if let Some(names) = arg.get_value_names() {
        copy = copy.value_names(names.to_vec());
    }
    Command::new("routeflow")
        .no_binary_name(true)
        .disable_help_flag(true)
        .disable_version_flag(true)
        .arg(copy)
        .try_get_matches_from(tokens)
        .map(|_| ())
        .map_err(|e| {
            // Keep clap's message and hints (possible values, suggestions), drop the
            // usage and "--help" lines that refer to the probe.
            let text = e.to_string();
            let lines: Vec<&str> = text
                .lines()
                .map(str::trim)
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
                .filter(|l| !l.is_empty())
                .collect();
            let message = lines.join(" ");
            message.strip_prefix("error: ").unwrap_or(&message).to_string()
        })
}

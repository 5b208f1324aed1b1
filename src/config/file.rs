//! The config file itself: reading it, rejecting keys that match nothing, and picking the
//! values that apply to the selected subcommand path.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use clap::{Arg, Command};

use super::{CONFIG_LONG, ConfigError, configurable};

/// A file value that applies: the key as written, dotted with its table (for messages), and
/// the value.
pub(super) type FileValue<'t> = (String, &'t toml::Value);

/// Reads and parses the file at `path` and checks every key against the `Command` tree.
pub(super) fn read(path: &Path, root: &Command) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    check_table(&table, root, "", path)?;
    Ok(table)
}

/// Keys are compared in kebab-case so `dry_run` and `dry-run` are the same key.
fn normalize(key: &str) -> String {
    key.replace('_', "-")
}

fn dotted(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Normalized names a file key may use for `arg`: its long name and long aliases.
fn arg_names(arg: &Arg) -> impl Iterator<Item = String> + '_ {
    arg.get_long()
        .into_iter()
        .chain(arg.get_all_aliases().unwrap_or_default())
        .map(normalize)
}

/// Whether the (normalized) `key` names `cmd` or one of its aliases.
fn names_command(cmd: &Command, key: &str) -> bool {
    normalize(cmd.get_name()) == key || cmd.get_all_aliases().any(|a| normalize(a) == key)
}

fn subcommand_named<'a>(cmd: &'a Command, key: &str) -> Option<&'a Command> {
    cmd.get_subcommands().find(|s| names_command(s, key))
}

/// Whether `cmd` or any of its subcommands has a configurable option called `key`.
fn option_in_scope(cmd: &Command, key: &str) -> bool {
    cmd.get_arguments()
        .filter(|a| configurable(a))
        .any(|a| arg_names(a).any(|n| n == key))
        || cmd.get_subcommands().any(|s| option_in_scope(s, key))
}

/// Rejects keys that match nothing, anywhere in the file, so typos never go unnoticed.
fn check_table(table: &toml::Table, cmd: &Command, prefix: &str, path: &Path) -> Result<(), ConfigError> {
    let mut seen = HashSet::new();
    for (key, value) in table {
        let name = normalize(key);
        let full = dotted(prefix, key);
        let invalid = |message: &str| ConfigError::InvalidValue {
            path: path.to_path_buf(),
            key: full.clone(),
            message: message.to_string(),
        };
        if !seen.insert(name.clone()) {
            return Err(invalid("given twice (kebab-case and snake_case)"));
        }
        match value {
            toml::Value::Table(sub_table) => match subcommand_named(cmd, &name) {
                Some(sub) => check_table(sub_table, sub, &full, path)?,
                None if option_in_scope(cmd, &name) => {
                    return Err(invalid("expected a value, found a table"));
                }
                None => {
                    return Err(ConfigError::UnknownKey {
                        path: path.to_path_buf(),
                        key: full,
                    });
                }
            },
            _ if option_in_scope(cmd, &name) => {}
            _ if name == CONFIG_LONG && cmd.get_arguments().any(|a| a.get_long() == Some(CONFIG_LONG)) => {
                return Err(invalid("the config file path cannot be set in the config file"));
            }
            _ => {
                return Err(ConfigError::UnknownKey {
                    path: path.to_path_buf(),
                    key: full,
                });
            }
        }
    }
    Ok(())
}

/// Values that apply to the selected path (root first): top-level keys, overridden by each
/// table on the way down. Maps normalized key to its [`FileValue`].
pub(super) fn values_for_path<'t>(
    table: &'t toml::Table,
    path: &[&Command],
) -> BTreeMap<String, FileValue<'t>> {
    let mut values = BTreeMap::new();
    let mut current = Some((table, String::new()));
    for depth in 0..path.len() {
        let Some((t, prefix)) = current.take() else {
            break;
        };
        for (key, value) in t {
            if !value.is_table() {
                values.insert(normalize(key), (dotted(&prefix, key), value));
            }
        }
        if let Some(next) = path.get(depth + 1) {
            current = t.iter().find_map(|(key, value)| {
                let sub = value.as_table()?;
                names_command(next, &normalize(key)).then(|| (sub, dotted(&prefix, key)))
            });
        }
    }
    values
}

/// The file value for `arg`, under its long name or one of its aliases.
pub(super) fn lookup<'v, 't>(
    values: &'v BTreeMap<String, FileValue<'t>>,
    arg: &Arg,
) -> Option<&'v FileValue<'t>> {
    arg_names(arg).find_map(|n| values.get(&n))
}

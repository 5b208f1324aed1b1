//! Layered configuration: `routeflow.toml` < `ROUTEFLOW_*` environment variables <
//! command-line flags.
//!
//! clap already ranks flags above environment variables (`#[arg(env = "ROUTEFLOW_X")]`),
//! so the file is folded in *before* parsing: every configurable option of the selected
//! subcommand path that is neither on the command line nor set in the environment gets
//! its file value as `--name=value`, inserted right after the subcommand name and before
//! the user's own arguments. One ordinary clap parse then yields the final values, and
//! [`effective`] reports where each of them came from.
//!
//! This works for every option of every subcommand without per-option code: the file is
//! interpreted through the clap `Command` tree (long names, actions, value parsers).
//!
//! File layout: top-level keys apply to every subcommand that has an option of that name,
//! and a table per subcommand (nested for nested subcommands, e.g. `[snapshots.list]`)
//! overrides them for that subcommand and its own subcommands. Keys are long option names,
//! in kebab-case or snake_case.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};

/// Config file looked up in the working directory when no path is given.
pub const DEFAULT_CONFIG_FILE: &str = "routeflow.toml";

/// Environment variable naming the config file, used when the `--config` option does not
/// declare its own `env`.
pub const CONFIG_ENV: &str = "ROUTEFLOW_CONFIG";

/// Long name of the option that selects the config file; it cannot be set from the file.
const CONFIG_LONG: &str = "config";

/// Words of an option name (split at `-` and `_`) whose values are always hidden by [`redact`].
const SENSITIVE_WORDS: [&str; 5] = ["password", "secret", "token", "connection", "key"];
/// Options that hold a whole connection string (but not `mssql-connect-timeout` and the like).
const CONNECTION_OPTIONS: [&str; 1] = ["mssql"];

/// Argument vector with the config file folded in; pass `args` to clap.
#[derive(Debug, Clone)]
pub struct Layered {
    /// `argv` plus the injected `--name=value` arguments.
    pub args: Vec<OsString>,
    /// The config file that was read, if any.
    pub file: Option<PathBuf>,
    /// Ids of the arguments whose command-line value came from the file.
    injected: BTreeSet<String>,
}

impl Layered {
    /// Whether the argument with clap id `id` got its value from the config file.
    pub fn from_file(&self, id: &str) -> bool {
        self.injected.contains(id)
    }
}

/// Why the config file could not be applied. Every variant names the file.
#[derive(Debug)]
pub enum ConfigError {
    /// The file could not be read (an explicitly requested file that does not exist ends
    /// up here; a missing default file is not an error).
    Read { path: PathBuf, source: std::io::Error },
    /// The file is not valid TOML.
    Parse { path: PathBuf, message: String },
    /// A key matches no option or subcommand, so it would silently do nothing.
    /// `key` is dotted with its table, e.g. `run.outptu`.
    UnknownKey { path: PathBuf, key: String },
    /// A value has the wrong type or does not parse for its option.
    InvalidValue {
        path: PathBuf,
        key: String,
        message: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { path, source } => {
                write!(f, "cannot read config file {}: {source}", path.display())
            }
            Self::Parse { path, message } => {
                write!(f, "invalid TOML in config file {}: {message}", path.display())
            }
            Self::UnknownKey { path, key } => write!(
                f,
                "unknown key `{key}` in config file {} (no such option or subcommand)",
                path.display()
            ),
            Self::InvalidValue { path, key, message } => write!(
                f,
                "invalid value for `{key}` in config file {}: {message}",
                path.display()
            ),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Read { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Typed on the command line.
    Flag,
    /// From the named environment variable.
    Env(String),
    /// From the config file at this path.
    File(PathBuf),
    /// The option's default value.
    Default,
    /// Not given anywhere and without a default.
    Unset,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flag => f.write_str("flag"),
            Self::Env(name) => write!(f, "env ({name})"),
            Self::File(path) => write!(f, "file ({})", path.display()),
            Self::Default => f.write_str("default"),
            Self::Unset => f.write_str("unset"),
        }
    }
}

/// One option's effective value, for `routeflow config show`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Long option name (the clap id for arguments without one).
    pub name: String,
    /// Value as given, already passed through [`redact`]; several values are joined with
    /// `", "`; empty when unset.
    pub value: String,
    pub origin: Origin,
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.origin, self.value.as_str()) {
            (Origin::Unset, _) => write!(f, "{} ({})", self.name, self.origin),
            (_, "") => write!(f, "{} = \"\" ({})", self.name, self.origin),
            (_, value) => write!(f, "{} = {value} ({})", self.name, self.origin),
        }
    }
}

/// Folds the config file into `argv`, looking for `./routeflow.toml` when no file is named.
///
/// `cmd` is `Cli::command()`; `argv` includes the binary name. `env` looks up environment
/// variables; it is a parameter so tests do not have to touch the process environment.
/// It must agree with what clap sees, so pass `|k| std::env::var(k).ok()`.
pub fn layer(
    cmd: &Command,
    argv: Vec<OsString>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Layered, ConfigError> {
    layer_with_default(cmd, argv, env, Path::new(DEFAULT_CONFIG_FILE))
}

/// Like [`layer`], with the fallback file path as a parameter (used by tests).
///
/// The file is `--config PATH` if given, else `$ROUTEFLOW_CONFIG`, else `default_file`
/// if it exists. A named file that cannot be read is an error.
pub fn layer_with_default(
    cmd: &Command,
    mut argv: Vec<OsString>,
    env: &dyn Fn(&str) -> Option<String>,
    default_file: &Path,
) -> Result<Layered, ConfigError> {
    let mut root = cmd.clone();
    root.build();
    let start = usize::from(!root.is_no_binary_name_set());
    if argv.len() < start {
        argv.push(root.get_name().into());
    }

    let config_arg = root.get_arguments().find(|a| a.get_long() == Some(CONFIG_LONG));
    let scan = scan(&root, &argv, start, config_arg.map(|a| a.get_id().as_str()));
    let config_env = config_arg
        .and_then(|a| a.get_env())
        .and_then(|n| n.to_str())
        .unwrap_or(CONFIG_ENV);

    let path = match scan.config.map(PathBuf::from) {
        Some(path) => path,
        None => match env(config_env) {
            Some(path) => PathBuf::from(path),
            None if default_file.is_file() => default_file.to_path_buf(),
            None => {
                return Ok(Layered {
                    args: argv,
                    file: None,
                    injected: BTreeSet::new(),
                });
            }
        },
    };

    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError::Parse {
        path: path.clone(),
        message: e.to_string(),
    })?;
    check_table(&table, &root, "", &path)?;

    // With no arguments at all clap shows help (or "requires a subcommand"); injecting
    // global options from the file would only turn that into a less helpful error.
    if argv.len() == start {
        return Ok(Layered {
            args: argv,
            file: Some(path),
            injected: BTreeSet::new(),
        });
    }

    let values = values_for_path(&table, &scan.levels);
    let mut injected = BTreeSet::new();
    let mut inserts: Vec<(usize, Vec<OsString>)> = Vec::new();
    for (depth, level) in scan.levels.iter().enumerate() {
        let parent = depth.checked_sub(1).map(|p| scan.levels[p].cmd);
        let mut tokens = Vec::new();
        for arg in owned_args(level.cmd, parent).filter(|a| configurable(a)) {
            let Some((key, value)) = lookup(&values, arg) else {
                continue;
            };
            // Checked even when the value ends up unused, so a bad file fails every time.
            let arg_tokens = to_tokens(arg, value)
                .and_then(|t| probe(arg, &t).map(|()| t))
                .map_err(|message| ConfigError::InvalidValue {
                    path: path.clone(),
                    key: key.clone(),
                    message,
                })?;
            let id = arg.get_id().as_str();
            let env_set = arg
                .get_env()
                .and_then(|n| n.to_str())
                .is_some_and(|n| env(n).is_some());
            if scan.passed.contains(id) || env_set || arg_tokens.is_empty() {
                continue;
            }
            injected.insert(id.to_string());
            tokens.extend(arg_tokens);
        }
        inserts.push((level.insert_at, tokens));
    }

    let mut args = Vec::with_capacity(argv.len() + inserts.iter().map(|i| i.1.len()).sum::<usize>());
    let mut inserts = inserts.into_iter().peekable();
    for (i, token) in argv.into_iter().enumerate() {
        while let Some((_, tokens)) = inserts.next_if(|(at, _)| *at == i) {
            args.extend(tokens);
        }
        args.push(token);
    }
    args.extend(inserts.flat_map(|(_, tokens)| tokens));

    Ok(Layered {
        args,
        file: Some(path),
        injected,
    })
}

/// Effective value and origin of every option of the selected subcommand, including the
/// options of its parent commands and global options (help and version excluded).
///
/// `matches` are the root matches from parsing `layered.args` with the same `cmd`.
pub fn effective(cmd: &Command, matches: &ArgMatches, layered: &Layered) -> Vec<Entry> {
    let mut root = cmd.clone();
    root.build();
    let mut levels: Vec<(&Command, &ArgMatches)> = vec![(&root, matches)];
    while let Some(&(c, m)) = levels.last() {
        let Some((name, sub_matches)) = m.subcommand() else {
            break;
        };
        let Some(sub) = c.find_subcommand(name) else {
            break;
        };
        levels.push((sub, sub_matches));
    }
    // Global values are propagated to the deepest matches, wherever they were given.
    let leaf_matches = levels[levels.len() - 1].1;

    let mut entries = Vec::new();
    for (depth, &(c, m)) in levels.iter().enumerate() {
        let parent = depth.checked_sub(1).map(|p| levels[p].0);
        for arg in owned_args(c, parent) {
            if matches!(
                arg.get_action(),
                ArgAction::Help | ArgAction::HelpShort | ArgAction::HelpLong | ArgAction::Version
            ) {
                continue;
            }
            let m = if arg.is_global_set() { leaf_matches } else { m };
            entries.push(entry(arg, m, layered));
        }
    }
    entries
}

/// Hides secrets in `value` for display.
///
/// Passwords inside URLs (`scheme://user:***@host`) and the password part of connection
/// strings (`Server=x;Password=***`) are replaced wherever they appear, keeping the rest
/// readable. Any other non-empty value of `mssql`, or of an option whose name has the word
/// `password`, `secret`, `token`, `connection` or `key`, is replaced as a whole.
pub fn redact(name: &str, value: &str) -> String {
    let masked = crate::redact::redact(value);
    if masked != value {
        return masked;
    }
    let name = name.to_ascii_lowercase();
    let sensitive = CONNECTION_OPTIONS.contains(&name.as_str())
        || name.split(['-', '_']).any(|w| SENSITIVE_WORDS.contains(&w));
    if !value.is_empty() && sensitive {
        return "***".to_string();
    }
    value.to_string()
}

/// A command on the selected path and where its own file arguments go in argv.
struct Level<'a> {
    cmd: &'a Command,
    insert_at: usize,
}

/// What the user typed, as far as layering needs to know.
struct Scan<'a> {
    /// Root first, then each subcommand named on the command line.
    levels: Vec<Level<'a>>,
    /// Ids of the options the user gave.
    passed: HashSet<String>,
    /// Last value of `--config`.
    config: Option<OsString>,
}

/// Walks argv with the `Command` tree to find the subcommand path and the options given.
///
/// Global options are recognised before and after subcommand names. This follows clap's
/// common rules (`--name=value`, `--name value`, short clusters like `-vq` or `-ofile`,
/// `--` ends options); inferred subcommand and option prefixes are not supported.
fn scan<'a>(root: &'a Command, argv: &[OsString], start: usize, config_id: Option<&str>) -> Scan<'a> {
    let mut scan = Scan {
        levels: vec![Level {
            cmd: root,
            insert_at: start,
        }],
        passed: HashSet::new(),
        config: None,
    };
    let mut i = start;
    while i < argv.len() {
        let cur = scan.levels[scan.levels.len() - 1].cmd;
        let token = argv[i].to_string_lossy().into_owned();
        i += 1;
        if token == "--" {
            break;
        }
        let mut given: Option<(&Arg, Vec<OsString>)> = None;
        if let Some(body) = token.strip_prefix("--") {
            let (name, attached) = match body.split_once('=') {
                Some((name, value)) => (name, Some(OsString::from(value))),
                None => (body, None),
            };
            if let Some(arg) = find_long(cur, name) {
                given = Some((arg, take_values(arg, attached, argv, &mut i)));
            }
        } else if let Some(body) = token.strip_prefix('-').filter(|b| !b.is_empty()) {
            for (pos, c) in body.char_indices() {
                let Some(arg) = find_short(cur, c) else {
                    break;
                };
                scan.passed.insert(arg.get_id().to_string());
                if takes_values(arg) {
                    let rest = &body[pos + c.len_utf8()..];
                    let rest = rest.strip_prefix('=').unwrap_or(rest);
                    let attached = (!rest.is_empty()).then(|| OsString::from(rest));
                    given = Some((arg, take_values(arg, attached, argv, &mut i)));
                    break;
                }
            }
        } else if let Some(sub) = cur.find_subcommand(&token) {
            scan.levels.push(Level {
                cmd: sub,
                insert_at: i,
            });
        }
        if let Some((arg, values)) = given {
            let id = arg.get_id().as_str();
            scan.passed.insert(id.to_string());
            if Some(id) == config_id
                && let Some(value) = values.into_iter().last()
            {
                scan.config = Some(value);
            }
        }
    }
    scan
}

fn takes_values(arg: &Arg) -> bool {
    arg.get_num_args().is_some_and(|r| r.takes_values())
}

/// Consumes the values of an option that was not given with `=value`.
fn take_values(arg: &Arg, attached: Option<OsString>, argv: &[OsString], i: &mut usize) -> Vec<OsString> {
    let Some(range) = arg.get_num_args().filter(|r| r.takes_values()) else {
        return Vec::new();
    };
    if let Some(value) = attached {
        return vec![value];
    }
    let mut values = Vec::new();
    while values.len() < range.max_values() && *i < argv.len() {
        let next = argv[*i].to_string_lossy();
        let flag_like = next.len() > 1 && next.starts_with('-');
        if flag_like && !arg.is_allow_hyphen_values_set() {
            break;
        }
        values.push(argv[*i].clone());
        *i += 1;
    }
    values
}

fn find_long<'a>(cmd: &'a Command, name: &str) -> Option<&'a Arg> {
    cmd.get_arguments()
        .find(|a| a.get_long() == Some(name) || a.get_all_aliases().is_some_and(|al| al.contains(&name)))
}

fn find_short(cmd: &Command, c: char) -> Option<&Arg> {
    cmd.get_arguments()
        .find(|a| a.get_short() == Some(c) || a.get_all_short_aliases().is_some_and(|al| al.contains(&c)))
}

/// Arguments defined by `cmd` itself, without globals propagated from `parent`.
fn owned_args<'a>(cmd: &'a Command, parent: Option<&'a Command>) -> impl Iterator<Item = &'a Arg> {
    cmd.get_arguments().filter(move |a| {
        !parent.is_some_and(|p| {
            p.get_arguments()
                .any(|pa| pa.is_global_set() && pa.get_id() == a.get_id())
        })
    })
}

/// Options that a file key may set: named options that store values, flags and counters.
fn configurable(arg: &Arg) -> bool {
    !arg.is_positional()
        && arg.get_long().is_some_and(|l| l != CONFIG_LONG)
        && matches!(
            arg.get_action(),
            ArgAction::Set | ArgAction::Append | ArgAction::SetTrue | ArgAction::SetFalse | ArgAction::Count
        )
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

fn subcommand_named<'a>(cmd: &'a Command, key: &str) -> Option<&'a Command> {
    cmd.get_subcommands()
        .find(|s| normalize(s.get_name()) == key || s.get_all_aliases().any(|a| normalize(a) == key))
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
            _ if name == CONFIG_LONG && find_long(cmd, CONFIG_LONG).is_some() => {
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

/// Values that apply to the selected path: top-level keys, overridden by each table on
/// the way down. Maps normalized key to (dotted key for messages, value).
fn values_for_path<'t>(
    table: &'t toml::Table,
    levels: &[Level<'_>],
) -> BTreeMap<String, (String, &'t toml::Value)> {
    let mut values = BTreeMap::new();
    let mut current = Some((table, String::new()));
    for (depth, _) in levels.iter().enumerate() {
        let Some((t, prefix)) = current.take() else {
            break;
        };
        for (key, value) in t {
            if !value.is_table() {
                values.insert(normalize(key), (dotted(&prefix, key), value));
            }
        }
        if let Some(next) = levels.get(depth + 1) {
            current = t.iter().find_map(|(key, value)| {
                let sub = value.as_table()?;
                let named = next.cmd.get_name() == normalize(key)
                    || next.cmd.get_all_aliases().any(|a| normalize(a) == normalize(key));
                named.then(|| (sub, dotted(&prefix, key)))
            });
        }
    }
    values
}

fn lookup<'v, 't>(
    values: &'v BTreeMap<String, (String, &'t toml::Value)>,
    arg: &Arg,
) -> Option<&'v (String, &'t toml::Value)> {
    arg_names(arg).find_map(|n| values.get(&n))
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

fn entry(arg: &Arg, matches: &ArgMatches, layered: &Layered) -> Entry {
    let id = arg.get_id().as_str();
    let name = arg.get_long().unwrap_or(id).to_string();
    let origin = match matches.value_source(id) {
        Some(ValueSource::CommandLine) if layered.from_file(id) => {
            Origin::File(layered.file.clone().unwrap_or_default())
        }
        Some(ValueSource::CommandLine) => Origin::Flag,
        Some(ValueSource::EnvVariable) => Origin::Env(
            arg.get_env()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ),
        Some(ValueSource::DefaultValue) => Origin::Default,
        _ => Origin::Unset,
    };
    let value = match arg.get_action() {
        ArgAction::Count => matches
            .try_get_one::<u8>(id)
            .ok()
            .flatten()
            .map(|n| n.to_string()),
        ArgAction::SetTrue | ArgAction::SetFalse => matches
            .try_get_one::<bool>(id)
            .ok()
            .flatten()
            .map(|b| b.to_string()),
        _ => None,
    };
    let value = value.unwrap_or_else(|| {
        matches
            .try_get_raw(id)
            .ok()
            .flatten()
            .map(|raw| {
                raw.map(|v| redact(&name, &v.to_string_lossy()))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    });
    // The default config file has no command-line or env value but is still in effect.
    if origin == Origin::Unset
        && arg.get_long() == Some(CONFIG_LONG)
        && let Some(file) = &layered.file
    {
        return Entry {
            name,
            value: file.display().to_string(),
            origin: Origin::Default,
        };
    }
    Entry { name, value, origin }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
    use std::sync::Mutex;

    #[derive(Parser, Debug)]
    #[command(name = "routeflow")]
    struct Cli {
        #[arg(short, long, action = ArgAction::Count, global = true, env = "ROUTEFLOW_VERBOSE")]
        verbose: u8,
        #[arg(short, long, global = true, env = "ROUTEFLOW_QUIET")]
        quiet: bool,
        #[arg(long, global = true, env = "ROUTEFLOW_CONFIG")]
        config: Option<PathBuf>,
        #[command(subcommand)]
        command: Cmd,
    }

    #[derive(Subcommand, Debug)]
    enum Cmd {
        Run(RunArgs),
        Snapshots(SnapshotsArgs),
        Config {
            #[command(subcommand)]
            command: ConfigCmd,
        },
    }

    #[derive(Subcommand, Debug)]
    enum ConfigCmd {
        Show,
    }

    #[derive(Args, Debug)]
    struct RunArgs {
        #[arg(long, env = "ROUTEFLOW_INPUT", default_value = "fixtures/small")]
        input: PathBuf,
        #[arg(long, env = "ROUTEFLOW_OUTPUT")]
        output: Option<PathBuf>,
        #[arg(long, env = "ROUTEFLOW_CONCURRENCY", default_value_t = 1)]
        concurrency: usize,
        #[arg(long, env = "ROUTEFLOW_DISTRIBUTOR_ID")]
        distributor_id: Vec<String>,
        #[arg(long, env = "ROUTEFLOW_DRY_RUN")]
        dry_run: bool,
        #[arg(long, env = "ROUTEFLOW_MSSQL")]
        mssql: Option<String>,
    }

    #[derive(Args, Debug)]
    struct SnapshotsArgs {
        #[arg(long, env = "ROUTEFLOW_REGION")]
        region: Option<String>,
        #[command(subcommand)]
        command: SnapshotsCmd,
    }

    #[derive(Subcommand, Debug)]
    enum SnapshotsCmd {
        List {
            #[arg(long, env = "ROUTEFLOW_SNAPSHOT_DIR", default_value = "snapshots")]
            snapshot_dir: String,
        },
    }

    /// clap reads `env` values when the command is built, so the few variables a test
    /// needs are set only around `Cli::command()`, under a lock shared by all tests.
    static ENV_LOCK: Mutex<()> = Mutex::new(());

    fn command(env: &[(&str, &str)]) -> Command {
        let _guard = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        for (k, v) in env {
            // SAFETY: environment access in this test binary is serialized by ENV_LOCK
            // and the variables are removed before the lock is released.
            unsafe { std::env::set_var(k, v) };
        }
        let cmd = Cli::command();
        for (k, _) in env {
            // SAFETY: as above.
            unsafe { std::env::remove_var(k) };
        }
        cmd
    }

    struct Outcome {
        cli: Cli,
        entries: Vec<Entry>,
        layered: Layered,
    }

    impl Outcome {
        fn get(&self, name: &str) -> (&str, &Origin) {
            let e = self
                .entries
                .iter()
                .find(|e| e.name == name)
                .unwrap_or_else(|| panic!("no entry {name} in {:?}", self.entries));
            (&e.value, &e.origin)
        }

        fn run(&self) -> &RunArgs {
            match &self.cli.command {
                Cmd::Run(run) => run,
                other => panic!("expected run, got {other:?}"),
            }
        }
    }

    fn argv(args: &[&str]) -> Vec<OsString> {
        std::iter::once("routeflow")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect()
    }

    /// Layers with `dir/routeflow.toml` as the default file (written when `toml` is given).
    fn try_layer(
        dir: &Path,
        toml: Option<&str>,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Result<(Command, Layered), ConfigError> {
        let default = dir.join(DEFAULT_CONFIG_FILE);
        if let Some(text) = toml {
            std::fs::write(&default, text).unwrap();
        }
        let cmd = command(env);
        let lookup = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string());
        let layered = layer_with_default(&cmd, argv(args), &lookup, &default)?;
        Ok((cmd, layered))
    }

    fn parse(dir: &Path, toml: Option<&str>, env: &[(&str, &str)], args: &[&str]) -> Outcome {
        let (cmd, layered) = try_layer(dir, toml, env, args).expect("layer");
        let matches = cmd
            .clone()
            .try_get_matches_from(&layered.args)
            .unwrap_or_else(|e| panic!("{e}\nargs: {:?}", layered.args));
        let cli = Cli::from_arg_matches(&matches).expect("from_arg_matches");
        let entries = effective(&cmd, &matches, &layered);
        Outcome {
            cli,
            entries,
            layered,
        }
    }

    fn file_origin(dir: &Path) -> Origin {
        Origin::File(dir.join(DEFAULT_CONFIG_FILE))
    }

    #[test]
    fn precedence_default_file_env_flag() {
        let dir = tempfile::tempdir().unwrap();
        let toml = "input = \"/file/in\"\nconcurrency = 2\n[run]\noutput = \"/file/out\"\n";
        let file = file_origin(dir.path());

        // default only
        let o = parse(dir.path(), None, &[], &["run"]);
        assert_eq!(o.get("input"), ("fixtures/small", &Origin::Default));
        assert_eq!(o.get("output"), ("", &Origin::Unset));
        assert!(o.layered.file.is_none());

        // file beats default
        let o = parse(dir.path(), Some(toml), &[], &["run"]);
        assert_eq!(o.get("input"), ("/file/in", &file));
        assert_eq!(o.get("concurrency"), ("2", &file));
        assert_eq!(o.get("output"), ("/file/out", &file));
        assert_eq!(o.run().concurrency, 2);

        // env beats file
        let env = [("ROUTEFLOW_CONCURRENCY", "3"), ("ROUTEFLOW_OUTPUT", "/env/out")];
        let o = parse(dir.path(), Some(toml), &env, &["run"]);
        assert_eq!(o.get("input"), ("/file/in", &file));
        assert_eq!(
            o.get("concurrency"),
            ("3", &Origin::Env("ROUTEFLOW_CONCURRENCY".into()))
        );
        assert_eq!(
            o.get("output"),
            ("/env/out", &Origin::Env("ROUTEFLOW_OUTPUT".into()))
        );
        assert_eq!(o.run().concurrency, 3);

        // flag beats env and file, wherever the flag sits
        let o = parse(
            dir.path(),
            Some(toml),
            &env,
            &["run", "--concurrency", "4", "--input=/flag/in"],
        );
        assert_eq!(o.get("input"), ("/flag/in", &Origin::Flag));
        assert_eq!(o.get("concurrency"), ("4", &Origin::Flag));
        assert_eq!(
            o.get("output"),
            ("/env/out", &Origin::Env("ROUTEFLOW_OUTPUT".into()))
        );
        assert_eq!(o.get("dry-run"), ("false", &Origin::Default));
        assert_eq!(o.run().input, PathBuf::from("/flag/in"));
        assert_eq!(o.run().concurrency, 4);
    }

    #[test]
    fn global_options_from_file_env_and_flags() {
        let dir = tempfile::tempdir().unwrap();
        let toml = "verbose = 2\nquiet = true\n";
        let file = file_origin(dir.path());

        let o = parse(dir.path(), Some(toml), &[], &["run"]);
        assert_eq!(o.cli.verbose, 2);
        assert!(o.cli.quiet);
        assert_eq!(o.get("verbose"), ("2", &file));
        assert_eq!(o.get("quiet"), ("true", &file));

        // given before or after the subcommand name, flags win
        let o = parse(dir.path(), Some(toml), &[], &["-v", "run", "-q"]);
        assert_eq!(o.cli.verbose, 1);
        assert_eq!(o.get("verbose"), ("1", &Origin::Flag));
        assert_eq!(o.get("quiet"), ("true", &Origin::Flag));
        assert!(!o.layered.from_file("verbose"));
    }

    #[test]
    fn subcommand_table_overrides_top_level_and_nested_tables_work() {
        let dir = tempfile::tempdir().unwrap();
        let toml = r#"
            input = "/top/in"
            output = "/top/out"
            snapshot-dir = "/top/snaps"
            region = "eu-west-1"
            [run]
            output = "/run/out"
            [snapshots]
            region = "us-east-1"
            [snapshots.list]
            snapshot-dir = "s3://bucket/snaps"
        "#;
        let o = parse(dir.path(), Some(toml), &[], &["run"]);
        assert_eq!(o.run().input, PathBuf::from("/top/in"));
        assert_eq!(o.run().output, Some(PathBuf::from("/run/out")));

        let o = parse(dir.path(), Some(toml), &[], &["snapshots", "list"]);
        let Cmd::Snapshots(s) = &o.cli.command else {
            panic!("expected snapshots")
        };
        let SnapshotsCmd::List { snapshot_dir } = &s.command;
        assert_eq!(snapshot_dir, "s3://bucket/snaps");
        assert_eq!(s.region.as_deref(), Some("us-east-1"));
        assert_eq!(
            o.get("snapshot-dir"),
            ("s3://bucket/snaps", &file_origin(dir.path()))
        );
        assert_eq!(o.get("region"), ("us-east-1", &file_origin(dir.path())));
        // each option goes right after the name of the command that defines it
        let args: Vec<_> = o.layered.args.iter().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(
            args,
            [
                "routeflow",
                "snapshots",
                "--region=us-east-1",
                "list",
                "--snapshot-dir=s3://bucket/snaps"
            ]
        );
    }

    #[test]
    fn arrays_for_repeatable_options_and_booleans_for_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = file_origin(dir.path());
        let toml = "[run]\ndistributor-id = [\"D001\", \"D002\"]\ndry-run = true\n";
        let o = parse(dir.path(), Some(toml), &[], &["run"]);
        assert_eq!(o.run().distributor_id, ["D001", "D002"]);
        assert!(o.run().dry_run);
        assert_eq!(o.get("distributor-id"), ("D001, D002", &file));
        assert_eq!(o.get("dry-run"), ("true", &file));

        // a flag on the command line replaces the whole file list
        let o = parse(dir.path(), Some(toml), &[], &["run", "--distributor-id", "D009"]);
        assert_eq!(o.run().distributor_id, ["D009"]);
        assert_eq!(o.get("distributor-id"), ("D009", &Origin::Flag));

        // false passes nothing; a single string is one value; snake_case keys work
        let toml = "[run]\ndistributor_id = \"D003\"\ndry_run = false\n";
        let o = parse(dir.path(), Some(toml), &[], &["run"]);
        assert_eq!(o.run().distributor_id, ["D003"]);
        assert!(!o.run().dry_run);
        assert_eq!(o.get("dry-run"), ("false", &Origin::Default));
    }

    #[test]
    fn unknown_keys_are_errors_naming_key_and_file() {
        let dir = tempfile::tempdir().unwrap();
        for (toml, key) in [
            ("inptu = \"x\"\n", "inptu"),
            ("[run]\noutptu = \"x\"\n", "run.outptu"),
            ("[runn]\noutput = \"x\"\n", "runn"),
            (
                "[snapshots.list]\nsnapshot-dri = \"x\"\n",
                "snapshots.list.snapshot-dri",
            ),
            // an option that exists, but not for this subcommand
            ("[run]\nsnapshot-dir = \"x\"\n", "run.snapshot-dir"),
        ] {
            let err = try_layer(dir.path(), Some(toml), &[], &["run"]).unwrap_err();
            let msg = err.to_string();
            assert!(
                matches!(&err, ConfigError::UnknownKey { key: k, .. } if k == key),
                "{msg}"
            );
            assert!(msg.contains(&format!("`{key}`")), "{msg}");
            assert!(msg.contains(DEFAULT_CONFIG_FILE), "{msg}");
        }
    }

    #[test]
    fn wrong_types_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        for (toml, key, expected) in [
            (
                "[run]\ndry-run = \"yes\"\n",
                "run.dry-run",
                "expected true or false, found string",
            ),
            (
                "concurrency = \"four\"\n",
                "concurrency",
                "invalid value 'four' for '--concurrency",
            ),
            (
                "[run]\nconcurrency = [1, 2]\n",
                "run.concurrency",
                "expected a single value, found an array",
            ),
            (
                "[run]\ndistributor-id = [\"a\", [\"b\"]]\n",
                "run.distributor-id",
                "found array",
            ),
            (
                "[run]\ninput = { a = 1 }\n",
                "run.input",
                "expected a value, found a table",
            ),
            ("verbose = -1\n", "verbose", "expected a count"),
            (
                "config = \"other.toml\"\n",
                "config",
                "cannot be set in the config file",
            ),
        ] {
            let err = try_layer(dir.path(), Some(toml), &[], &["run"]).unwrap_err();
            let msg = err.to_string();
            assert!(
                matches!(&err, ConfigError::InvalidValue { key: k, .. } if k == key),
                "{msg}"
            );
            assert!(msg.contains(expected), "{msg}");
            assert!(msg.contains(DEFAULT_CONFIG_FILE), "{msg}");
            assert!(!msg.contains('\u{1b}'), "{msg:?}");
        }
        let err = try_layer(dir.path(), Some("input = \n"), &[], &["run"]).unwrap_err();
        assert!(matches!(err, ConfigError::Parse { .. }), "{err}");
    }

    #[test]
    fn keys_for_other_subcommands_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let toml = "snapshot-dir = \"/top/snaps\"\nregion = \"eu\"\n[snapshots.list]\nsnapshot-dir = \"s3://b\"\n[run]\ninput = \"/run/in\"\n";
        let o = parse(dir.path(), Some(toml), &[], &["run"]);
        assert_eq!(o.run().input, PathBuf::from("/run/in"));
        assert!(
            o.entries
                .iter()
                .all(|e| e.name != "snapshot-dir" && e.name != "region")
        );
        let args: Vec<_> = o.layered.args.iter().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(args, ["routeflow", "run", "--input=/run/in"]);

        // and [run] does not leak into snapshots
        let o = parse(dir.path(), Some(toml), &[], &["snapshots", "list"]);
        assert!(o.entries.iter().all(|e| e.name != "input"));
    }

    #[test]
    fn config_path_from_flag_env_and_default() {
        let dir = tempfile::tempdir().unwrap();
        let other = dir.path().join("other.toml");
        std::fs::write(&other, "[run]\noutput = \"/other/out\"\n").unwrap();
        let other_str = other.to_str().unwrap();
        let default_toml = Some("[run]\noutput = \"/default/out\"\n");

        let o = parse(dir.path(), default_toml, &[], &["run"]);
        assert_eq!(o.run().output, Some(PathBuf::from("/default/out")));
        let default_path = dir.path().join(DEFAULT_CONFIG_FILE);
        let default_str = default_path.to_str().unwrap();
        assert_eq!(o.get("config"), (default_str, &Origin::Default));

        // `[config]` is the table of the `config` subcommand, not the --config option
        let o = parse(
            dir.path(),
            Some("verbose = 1\n[config]\n"),
            &[],
            &["config", "show"],
        );
        assert_eq!(o.cli.verbose, 1);
        assert_eq!(o.get("config"), (default_str, &Origin::Default));

        for args in [
            vec!["--config", other_str, "run"],
            vec!["run", "--config", other_str],
            vec![&format!("--config={other_str}"), "run"],
        ] {
            let o = parse(dir.path(), default_toml, &[], &args);
            assert_eq!(o.run().output, Some(PathBuf::from("/other/out")), "{args:?}");
            assert_eq!(o.get("output"), ("/other/out", &Origin::File(other.clone())));
            assert_eq!(o.get("config"), (other_str, &Origin::Flag));
        }

        let env = [("ROUTEFLOW_CONFIG", other_str)];
        let o = parse(dir.path(), default_toml, &env, &["run"]);
        assert_eq!(o.layered.file.as_deref(), Some(other.as_path()));
        assert_eq!(o.get("output"), ("/other/out", &Origin::File(other.clone())));
        assert_eq!(
            o.get("config"),
            (other_str, &Origin::Env("ROUTEFLOW_CONFIG".into()))
        );

        // a named file must exist; the default one need not
        let missing = dir.path().join("missing.toml");
        let missing_str = missing.to_str().unwrap();
        let err = try_layer(dir.path(), None, &[], &["--config", missing_str, "run"]).unwrap_err();
        assert!(matches!(err, ConfigError::Read { .. }), "{err}");
        assert!(err.to_string().contains(missing_str));
        let err = try_layer(dir.path(), None, &[("ROUTEFLOW_CONFIG", missing_str)], &["run"]).unwrap_err();
        assert!(matches!(err, ConfigError::Read { .. }), "{err}");

        let empty = tempfile::tempdir().unwrap();
        let o = parse(empty.path(), None, &[], &["run"]);
        assert!(o.layered.file.is_none());
        assert_eq!(o.get("output"), ("", &Origin::Unset));
    }

    #[test]
    fn secrets_are_redacted() {
        assert_eq!(
            redact("mssql", "Server=x;User Id=u;Password=p"),
            "Server=x;User Id=u;Password=***"
        );
        assert_eq!(
            redact("input", "Server=x; pwd = 'a;''b' ;Database=d"),
            "Server=x; pwd =***;Database=d"
        );
        assert_eq!(
            redact("input", "s3://user:hunter2@host/path"),
            "s3://user:***@host/path"
        );
        assert_eq!(redact("input", "https://host/path?a=b"), "https://host/path?a=b");
        assert_eq!(redact("api-token", "abc"), "***");
        assert_eq!(redact("mssql", "Server=x;Integrated Security=true"), "***");
        assert_eq!(redact("mssql-connect-timeout", "15"), "15");
        assert_eq!(redact("mssql", ""), "");
        assert_eq!(redact("output", "/data/out"), "/data/out");

        let dir = tempfile::tempdir().unwrap();
        let toml = "[run]\nmssql = \"Server=x;User Id=u;Password=p\"\n";
        let o = parse(dir.path(), Some(toml), &[], &["run"]);
        assert_eq!(o.run().mssql.as_deref(), Some("Server=x;User Id=u;Password=p"));
        assert_eq!(
            o.get("mssql"),
            ("Server=x;User Id=u;Password=***", &file_origin(dir.path()))
        );
        let o = parse(
            dir.path(),
            None,
            &[],
            &["run", "--mssql", "Server=x;User Id=u;Pwd=p"],
        );
        assert_eq!(o.get("mssql"), ("Server=x;User Id=u;Pwd=***", &Origin::Flag));
    }

    #[test]
    fn no_arguments_leave_argv_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (_, layered) = try_layer(dir.path(), Some("verbose = 1\n"), &[], &[]).unwrap();
        assert_eq!(layered.args, argv(&[]));
        assert!(layered.file.is_some());
    }
}

//! Layered configuration: `routeflow.toml` < `ROUTEFLOW_*` environment variables <
//! command-line flags.
//!
//! clap already ranks flags above environment variables (`#[arg(env = "ROUTEFLOW_X")]`),
//! so the file is folded in *before* the final parse. A first, lenient clap parse of the
//! command line tells which subcommand path is selected and, through
//! [`ArgMatches::value_source`](clap::ArgMatches::value_source), which options came from the
//! command line or the environment. Every other configurable option of that path gets its
//! file value as `--name=value`, inserted right after the subcommand name and before the
//! user's own arguments. One ordinary clap parse then yields the final values, and
//! [`effective`] reports where each of them came from.
//!
//! This works for every option of every subcommand without per-option code: the file is
//! interpreted through the clap `Command` tree (long names, actions, value parsers), and the
//! command line only ever by clap itself (short-flag clusters, `--`, values starting with `-`).
//!
//! File layout: top-level keys apply to every subcommand that has an option of that name,
//! and a table per subcommand (nested for nested subcommands, e.g. `[snapshots.list]`)
//! overrides them for that subcommand and its own subcommands. Keys are long option names,
//! in kebab-case or snake_case.

mod error;
mod file;
mod layer;
mod origin;
mod secrets;
mod tokens;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Arg, ArgAction, Command};

pub use error::ConfigError;
pub use layer::{layer, layer_with_default};
pub use origin::{Entry, Origin, effective};
pub use secrets::redact;

/// Config file looked up in the working directory when no path is given.
pub const DEFAULT_CONFIG_FILE: &str = "routeflow.toml";

/// Environment variable naming the config file: the `env` the `--config` option declares.
pub const CONFIG_ENV: &str = "ROUTEFLOW_CONFIG";

/// Long name of the option that selects the config file; it cannot be set from the file.
const CONFIG_LONG: &str = "config";

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

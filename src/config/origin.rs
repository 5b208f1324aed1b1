//! Where each effective value came from, for `routeflow config show`.

use std::fmt;
use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};

use super::{CONFIG_LONG, Layered, owned_args, redact};

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
